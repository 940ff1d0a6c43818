using Microsoft.Extensions.Configuration;

namespace Dispatch.Configuration;

/// <summary>Builds the configuration stack: JSON file, then <c>DISPATCH_*</c> environment variables.</summary>
public static class DispatchConfiguration
{
    public const string FileName = "dispatch.json";

    public static IConfigurationRoot Build(string? explicitFile = null)
    {
        var file = explicitFile ?? Environment.GetEnvironmentVariable("DISPATCH_CONFIG");
        var builder = new ConfigurationBuilder();
        if (!string.IsNullOrEmpty(file))
        {
            if (!File.Exists(file))
            {
                throw new FileNotFoundException(
                    $"configuration file \"{file}\" (DISPATCH_CONFIG) not found: create it or unset DISPATCH_CONFIG.", file);
            }

            builder.AddJsonFile(Path.GetFullPath(file), optional: false);
        }
        else
        {
            builder.AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), FileName), optional: true);
        }

        builder.AddEnvironmentVariables("DISPATCH_");
        return builder.Build();
    }

    public static DispatchOptions BindOptions(IConfiguration configuration)
    {
        var options = new DispatchOptions();
        configuration.Bind(options);
        return options;
    }
}
