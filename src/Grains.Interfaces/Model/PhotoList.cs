using System.Collections;
using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace GridDispatch;

/// <summary>
/// The photo ids a timeline entry, a report, a task result or a visit names, in order. Equal by its ids (a timeline
/// entry read back from the store must equal the one written: an <see cref="ImmutableArray{T}"/> compares by reference),
/// and written in JSON as a plain array of ids.
/// </summary>
[GenerateSerializer, Immutable, Alias("GridDispatch.PhotoList")]
[JsonConverter(typeof(PhotoListJsonConverter))]
public sealed class PhotoList(ImmutableArray<string> ids) : IReadOnlyList<string>, IEquatable<PhotoList>
{
    [Id(0)]
    public ImmutableArray<string> Ids { get; } = ids.IsDefault ? [] : ids;

    public int Count => Ids.Length;

    public string this[int index] => Ids[index];

    /// <summary>Null for none, so an entry without photos stores and shows nothing.</summary>
    public static PhotoList? Of(IEnumerable<string>? ids) => ids?.ToImmutableArray() is { Length: > 0 } list ? new PhotoList(list) : null;

    public bool Equals(PhotoList? other) => other is not null && Ids.SequenceEqual(other.Ids, StringComparer.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as PhotoList);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var id in Ids)
        {
            hash.Add(id, StringComparer.Ordinal);
        }

        return hash.ToHashCode();
    }

    public IEnumerator<string> GetEnumerator() => ((IEnumerable<string>)Ids).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => string.Join(',', Ids);
}

/// <summary>A <see cref="PhotoList"/> is a JSON array of ids.</summary>
public sealed class PhotoListJsonConverter : JsonConverter<PhotoList>
{
    public override PhotoList? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        JsonSerializer.Deserialize<string[]>(ref reader, options) is { } ids ? new PhotoList([.. ids]) : null;

    public override void Write(Utf8JsonWriter writer, PhotoList value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var id in value.Ids)
        {
            writer.WriteStringValue(id);
        }

        writer.WriteEndArray();
    }
}
