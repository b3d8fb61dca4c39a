using SkiaSharp;

namespace GridDispatch.Api.Photos;

/// <summary>A decoded, checked upload, re-encoded for storage.</summary>
public sealed record PreparedPhoto(byte[] Image, byte[] Thumbnail, int Width, int Height);

/// <summary>
/// Turns an upload into what is stored: the bytes must decode as JPEG, PNG or WebP and match the declared type; the
/// picture is turned upright (a phone's EXIF orientation), scaled to at most <see cref="MaxSide"/> px on its long side
/// and re-encoded as JPEG, which drops its metadata (a phone's photo carries the GPS position of where it was taken);
/// the thumbnail is at most <see cref="ThumbnailSide"/> px. Dimensions are read from the header before anything is
/// decoded, so a small file claiming a huge picture is refused without allocating it.
/// </summary>
public static class PhotoImages
{
    public const int MaxSide = 1600;
    public const int ThumbnailSide = 320;

    /// <summary>Largest picture decoded (40 megapixels, more than any phone camera's).</summary>
    public const long MaxPixels = 40_000_000;

    public static readonly IReadOnlyDictionary<string, SKEncodedImageFormat> Types = new Dictionary<string, SKEncodedImageFormat>(StringComparer.OrdinalIgnoreCase)
    {
        ["image/jpeg"] = SKEncodedImageFormat.Jpeg,
        ["image/png"] = SKEncodedImageFormat.Png,
        ["image/webp"] = SKEncodedImageFormat.Webp,
    };

    /// <summary>The stored form of <paramref name="upload"/>, or a 400 naming what is wrong with it.</summary>
    public static PreparedPhoto Prepare(byte[] upload, string? contentType)
    {
        var declared = contentType?.Split(';')[0].Trim() ?? "";
        if (!Types.TryGetValue(declared, out var format))
        {
            throw Invalid($"A photo is sent as image/jpeg, image/png or image/webp, not '{declared}'", "Content-Type");
        }

        using var data = SKData.CreateCopy(upload);
        using var codec = SKCodec.Create(data) ?? throw Invalid("The body is not a picture that can be read", "photo");
        if (codec.EncodedFormat != format)
        {
            throw Invalid($"The body is {codec.EncodedFormat.ToString().ToUpperInvariant()}, not {declared}", "Content-Type");
        }

        var (w, h) = (codec.Info.Width, codec.Info.Height);
        if (w < 1 || h < 1 || (long)w * h > MaxPixels)
        {
            throw Invalid($"A photo has at most {MaxPixels / 1_000_000} megapixels; this one is {w} × {h}", "photo");
        }

        // Decoding takes up to 4 bytes a pixel of the (scaled) picture: at most two at once, so a burst of uploads cannot
        // take the host's memory.
        Decoding.Wait();
        try
        {
            using var full = Decode(codec, MaxSide);
            using var upright = codec.EncodedOrigin is SKEncodedOrigin.TopLeft or SKEncodedOrigin.Default ? null : Upright(full, codec.EncodedOrigin);
            using var image = Fit(upright ?? full, MaxSide);
            using var thumbnail = Fit(image, ThumbnailSide);
            return new PreparedPhoto(Jpeg(image, 85), Jpeg(thumbnail, 75), image.Width, image.Height);
        }
        finally
        {
            Decoding.Release();
        }
    }

    private static readonly SemaphoreSlim Decoding = new(2);

    /// <summary>Decodes at the smallest of the codec's scales that still covers <paramref name="side"/> (JPEG decodes at 1/2, 1/4, 1/8 cheaply).</summary>
    private static SKBitmap Decode(SKCodec codec, int side)
    {
        var size = codec.Info.Size;
        foreach (var scale in new[] { 0.125f, 0.25f, 0.5f })
        {
            var scaled = codec.GetScaledDimensions(scale);
            if (Math.Max(scaled.Width, scaled.Height) >= side)
            {
                size = scaled;
                break;
            }
        }

        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result is not SKCodecResult.Success)
        {
            bitmap.Dispose();
            throw Invalid($"The picture cannot be decoded ({result})", "photo");
        }

        return bitmap;
    }

    private static SKBitmap Upright(SKBitmap source, SKEncodedOrigin origin)
    {
        var degrees = origin switch
        {
            SKEncodedOrigin.BottomRight or SKEncodedOrigin.BottomLeft => 180,
            SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom => 90,
            SKEncodedOrigin.LeftBottom or SKEncodedOrigin.LeftTop => 270,
            _ => 0,
        };
        var sideways = degrees is 90 or 270;
        var rotated = new SKBitmap(sideways ? source.Height : source.Width, sideways ? source.Width : source.Height);
        using var canvas = new SKCanvas(rotated);
        canvas.Clear(SKColors.White);     // a transparent PNG becomes white, not black, as JPEG
        canvas.Translate(rotated.Width / 2f, rotated.Height / 2f);
        canvas.RotateDegrees(degrees);
        canvas.Translate(-source.Width / 2f, -source.Height / 2f);
        using var image = SKImage.FromBitmap(source);
        canvas.DrawImage(image, 0, 0, new SKSamplingOptions(SKFilterMode.Linear));
        return rotated;
    }

    private static SKBitmap Fit(SKBitmap source, int side)
    {
        var scale = Math.Min(1.0, (double)side / Math.Max(source.Width, source.Height));
        var size = new SKSizeI(Math.Max(1, (int)Math.Round(source.Width * scale)), Math.Max(1, (int)Math.Round(source.Height * scale)));
        return source.Resize(new SKImageInfo(size.Width, size.Height), new SKSamplingOptions(SKCubicResampler.Mitchell))
            ?? throw new InvalidOperationException("Skia could not scale the picture");
    }

    private static byte[] Jpeg(SKBitmap bitmap, int quality)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var encoded = image.Encode(SKEncodedImageFormat.Jpeg, quality);
        return encoded.ToArray();
    }

    private static DomainException Invalid(string message, string field) => new(DomainErrors.InvalidInput, message, field);
}
