using System.Data;
using Dapper;

namespace Dispatch.Storage;

/// <summary>
/// Reads stored times into <see cref="DateTimeOffset"/>: SQLite keeps Unix
/// milliseconds, PostgreSQL returns UTC <see cref="DateTime"/> values.
/// Parameters are converted by <see cref="SqlDialect.TimeValue"/> before they reach Dapper.
/// </summary>
internal sealed class TimeTypeHandler : SqlMapper.TypeHandler<DateTimeOffset>
{
    private static int registered;

    public static void Register()
    {
        if (Interlocked.Exchange(ref registered, 1) == 0)
        {
            SqlMapper.AddTypeHandler(new TimeTypeHandler());
        }
    }

    public override DateTimeOffset Parse(object value) => value switch
    {
        long milliseconds => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds),
        int milliseconds => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds),
        DateTime time => new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc)),
        DateTimeOffset time => time,
        string text => DateTimeOffset.Parse(text, System.Globalization.CultureInfo.InvariantCulture),
        _ => throw new DataException($"cannot read a time from a value of type {value.GetType().Name}"),
    };

    public override void SetValue(IDbDataParameter parameter, DateTimeOffset value)
    {
        if (parameter is Microsoft.Data.Sqlite.SqliteParameter)
        {
            parameter.Value = value.ToUnixTimeMilliseconds();
        }
        else
        {
            parameter.Value = value.ToUniversalTime();
        }
    }
}
