using GridDispatch.Domain;

namespace GridDispatch.Tests.Domain;

public sealed class KpiLedgerTests
{
    private static readonly KpiFacts Closed = new(Due: true, Closed: true, OnTime: true, Deferred: false, Reworked: false, Rating: 5, Urgent: false);

    [Fact]
    public void Finished_ids_are_remembered_up_to_their_bound_and_the_counters_stay_exact()
    {
        var ledger = new KpiLedger();
        const int finished = KpiLedger.FoldedIdsKept + 1000;
        for (var i = 0; i < finished; i++)
        {
            ledger.Record($"i{i}", Closed with { Due = true }, terminal: false);
            ledger.Record($"i{i}", Closed, terminal: true);
        }

        Assert.Equal(KpiLedger.FoldedIdsKept, ledger.FoldedIds.Count);
        Assert.Equal(KpiLedger.FoldedIdsKept, ledger.FoldedOrder.Count);
        Assert.Empty(ledger.Open);
        Assert.Equal(finished, ledger.Current().All.Closed);

        // A repeat of a recent one counts nothing; the oldest were let go.
        ledger.Record($"i{finished - 1}", Closed, terminal: true);
        Assert.Equal(finished, ledger.Current().All.Closed);
        Assert.DoesNotContain("i0", ledger.FoldedIds);
        Assert.Contains($"i{finished - 1}", ledger.FoldedIds);
    }

    [Fact]
    public void A_ledger_from_before_the_bound_is_trimmed_at_its_next_fold()
    {
        var ledger = new KpiLedger { FoldedIds = [.. Enumerable.Range(0, KpiLedger.FoldedIdsKept + 10).Select(i => $"old{i}")] };
        ledger.Record("new", Closed, terminal: true);
        Assert.Equal(KpiLedger.FoldedIdsKept, ledger.FoldedIds.Count);
        Assert.Contains("new", ledger.FoldedIds);
    }
}
