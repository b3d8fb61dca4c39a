using GridDispatch.Tests.Infrastructure;

namespace GridDispatch.Tests.Durable;

/// <summary>An emergency episode, its surge workers and a campaign kept in PostgreSQL across a full restart.</summary>
[Collection(PostgresCollection.Name)]
public sealed class DurableEmergencyTests(PostgresServer postgres)
{
    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["GridDispatch:Command:Commanders:commander"] = "*",
        ["GridDispatch:Dispatch:EpisodeSampleInterval"] = "00:00:00.500",
    };

    [Fact]
    public async Task An_episode_with_surge_workers_and_a_campaign_survives_a_restart_and_stands_down_after_it()
    {
        var connection = await postgres.CreateDatabaseAsync("gd_" + Guid.NewGuid().ToString("N")[..12]);
        var city = TestCity.Create(gridsPerCommunity: 2);
        var worker = city.AddWorker("w", [city.Grids[0]]);
        city.AddWorker("x", [city.Grids[1]]);
        var volunteer = $"{city.Code}-vol";
        string campaignId = "c" + Guid.NewGuid().ToString("N")[..12];
        string doneTask;

        await using (var first = await DurableHost.StartAsync(connection, Settings))
        {
            await city.LoadAsync(first.Grains);
            await first.Grains.GetGrain<IEmergencyGrain>(city.Street).SwitchAsync(new ModeCommand(Mode.Emergency, "I", "flood", "commander"));
            await first.Grains.GetGrain<IEmergencyGrain>(city.Street).SurgeAsync(new SurgeRequest(city.Street, "commander", SurgeAttach.ByHome,
                [new SurgeWorker(volunteer, "Volunteer", WorkerKind.Volunteer, [], 5, city.Grids[1])]));
            await first.Grains.GetGrain<ICampaignGrain>(campaignId).LaunchAsync(
                new CampaignSpec(city.Street, CampaignKind.SweepBuildings, "flood sweep", null, "commander"));
            var campaign = await Eventually.Get(() => first.Grains.GetGrain<ICampaignGrain>(campaignId).GetAsync(),
                c => c.Progress.Assigned == 8, what: "8 buildings assigned");
            doneTask = campaign.Accountability.First(u => u.WorkerId == worker).TaskId;
            await first.Grains.FinishTaskAsync(doneTask, new SweepResult(worker, true, null, []));
            await Eventually.Get(() => first.Grains.GetGrain<ICampaignGrain>(campaignId).GetAsync(), c => c.Progress.Done == 1, what: "one done");
            await first.StopAsync();
        }

        await using var second = await DurableHost.StartAsync(connection, Settings);
        var episode = await second.Grains.GetGrain<IEmergencyGrain>(city.Street).GetAsync();
        Assert.Equal((true, "I", 1), (episode.Active, episode.Level, episode.SurgeWorkers));
        Assert.Equal(Mode.Emergency, (await second.Grains.GetGrain<IGridGrain>(city.Grids[1]).GetModeAsync())!.Mode);
        var task = await second.Grains.GridOf(doneTask).GetSweepTaskAsync(doneTask);
        Assert.Equal((SweepTaskStatus.Done, worker), (task.Status, task.WorkerId));
        var restored = await second.Grains.GetGrain<ICampaignGrain>(campaignId).GetAsync();
        Assert.Equal((CampaignStatus.Running, 8, 1), (restored.Status, restored.Progress.Total, restored.Progress.Done));
        Assert.Contains(await second.Grains.GetGrain<IOperationsDirectoryGrain>(city.Code).CampaignsAsync(city.Street), c => c.Id == campaignId);
        Assert.True((await second.Grains.GetGrain<IWorkerGrain>(volunteer).GetAsync()).Profile.Temporary);

        var calm = await second.Grains.GetGrain<IEmergencyGrain>(city.Street).SwitchAsync(new ModeCommand(Mode.Everyday, null, "water receded", "commander"));
        var report = Assert.Single(calm.Reports);
        Assert.Equal((8, 1, 7, 1), (report.Tasks, report.TasksDone, report.TasksClosedAtStandDown, report.SurgeReleased));
        Assert.NotNull((await second.Grains.GetGrain<IWorkerGrain>(volunteer).GetAsync()).ReleasedAt);
        Assert.Equal(CampaignStatus.Ended, (await second.Grains.GetGrain<ICampaignGrain>(campaignId).GetAsync(0)).Status);
    }
}
