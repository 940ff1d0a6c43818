using System.Globalization;

namespace Dispatch.Bench;

/// <summary>Whether a value meets its target by being at least or at most the target.</summary>
internal enum Goal
{
    AtLeast,
    AtMost,
}

/// <summary>A measured value per run of one scenario on one backend, with its target.</summary>
internal sealed record Measurement(string Scenario, string Backend, string Metric, string Unit, IReadOnlyList<double> Runs, double? Target, Goal Goal)
{
    public double Median => Statistics.Median(Runs);

    /// <summary>Whether the median meets the target, or null when the measurement has no target.</summary>
    public bool? Met
    {
        get
        {
            if (Target is not double target)
            {
                return null;
            }

            return Goal == Goal.AtLeast ? Median >= target : Median <= target;
        }
    }

    public string TargetText => Target is double target ? $"{(Goal == Goal.AtLeast ? ">=" : "<=")} {Format.Number(target)} {Unit}" : "-";

    public string Verdict => Met switch
    {
        true => "met",
        false => "MISSED",
        null => "",
    };
}

internal static class Statistics
{
    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}

internal static class Format
{
    /// <summary>Formats 100 and more as a whole number with thousands separators, 10 to 100 with one decimal, and less with two.</summary>
    public static string Number(double value) => value switch
    {
        >= 100 => value.ToString("#,0", CultureInfo.InvariantCulture),
        >= 10 => value.ToString("0.0", CultureInfo.InvariantCulture),
        _ => value.ToString("0.00", CultureInfo.InvariantCulture),
    };

    public static string Runs(IEnumerable<double> values) => string.Join(" ", values.Select(Number));
}
