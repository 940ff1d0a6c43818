using System.Security.Cryptography;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace Dispatch.Specs;

/// <summary>
/// Parses one spec file, a Markdown file with a YAML front-matter header,
/// into a <see cref="TaskSpec"/>. It is tolerant where the meaning is clear
/// (priority words, one string for a list, trailing spaces, BOM, CRLF) and
/// rejects the file with one diagnostic per problem, each saying how to fix it,
/// where it is not. <see cref="Parse"/> returns any exception it catches as an
/// error diagnostic instead of throwing.
/// </summary>
public static class SpecParser
{
    public const int MaxFileBytes = 1024 * 1024;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Parses <paramref name="content"/>, the raw bytes of the file at
    /// <paramref name="path"/>. The project is <paramref name="projectOverride"/>
    /// if given, else the front-matter's <c>project</c>, else
    /// <paramref name="folderProject"/>.
    /// </summary>
    public static SpecParseResult Parse(string path, byte[] content, string? projectOverride, string? folderProject)
    {
        path ??= "";
        try
        {
            return ParseCore(path, content, projectOverride, folderProject);
        }
        catch (Exception exception)
        {
            // The importer must keep going past any one file, so a defect in this
            // parser rejects the file instead of stopping the import.
            return Reject(path, null,
                $"the spec could not be parsed because of an unexpected {exception.GetType().Name} ({exception.Message}): report it as a Dispatch bug and attach the file");
        }
    }

    /// <summary>The rejection for a file over <see cref="MaxFileBytes"/>, for callers that check the size before reading.</summary>
    public static SpecParseResult RejectTooLarge(string path, long length) =>
        Reject(path, null,
            $"the file is {length} bytes, over the {MaxFileBytes}-byte (1 MiB) limit for a spec: shorten it, or move long material into files the task reads");

    private static SpecParseResult ParseCore(string path, byte[] content, string? projectOverride, string? folderProject)
    {
        if (content is null)
        {
            return Reject(path, null, "no content was given for the file: read the file and pass its bytes");
        }

        if (content.Length > MaxFileBytes)
        {
            return RejectTooLarge(path, content.Length);
        }

        var text = Decode(path, content, out var decodeError);
        if (text is null)
        {
            return decodeError!;
        }

        var frontMatter = FrontMatter.Split(text, out var splitError);
        if (frontMatter is null)
        {
            return Reject(path, splitError.Line, splitError.Message);
        }

        var root = YamlFrontMatterReader.Load(frontMatter.Yaml, out var yamlError);
        if (yamlError is { } error)
        {
            var line = error.Line is int yamlLine ? yamlLine + frontMatter.YamlFirstLine - 1 : (int?)null;
            return Reject(path, line, error.Message);
        }

        var reader = new SpecFieldReader(path, frontMatter.YamlFirstLine);
        if (root is not null and not YamlMappingNode)
        {
            return Reject(path, reader.LineOf(root),
                $"the front-matter must be \"key: value\" lines, but it is {YamlValues.Kind(root)}: write one key per line, such as \"task_id: my-task\"");
        }

        var mapping = root as YamlMappingNode ?? new YamlMappingNode();

        var fields = SpecFieldSet.Read(reader, mapping, Path.GetFileNameWithoutExtension(path), projectOverride, folderProject);

        if (string.IsNullOrWhiteSpace(frontMatter.Body))
        {
            reader.Warnings.Add(new SpecDiagnostic(path, frontMatter.ClosingLine, DiagnosticSeverity.Warning,
                "the body after the front-matter is empty, so the executor gets no instructions: write the task below the closing \"---\""));
        }

        var errors = reader.Errors.OrderBy(diagnostic => diagnostic.Line ?? 0).ToList();
        if (errors.Count > 0)
        {
            return new SpecParseResult { Error = errors[0], Errors = errors, Warnings = reader.Warnings, TaskIdLine = fields.TaskIdLine };
        }

        var spec = new TaskSpec
        {
            Project = fields.Project!,
            TaskId = fields.TaskId!,
            Priority = fields.Priority ?? SpecDefaults.Priority,
            EstimatedMinutes = fields.EstimatedMinutes ?? SpecDefaults.EstimatedMinutes,
            TimeoutMinutes = fields.TimeoutMinutes,
            DependsOn = fields.DependsOn,
            Modifies = fields.Modifies,
            Exclusive = fields.Exclusive ?? false,
            Executor = fields.Executor,
            MaxRetries = fields.MaxRetries,
            Metadata = fields.Metadata,
            Body = frontMatter.Body,
            Content = text,
            SourcePath = path,
            ContentHash = Convert.ToHexStringLower(SHA256.HashData(content)),
        };

        return new SpecParseResult { Spec = spec, Warnings = reader.Warnings, TaskIdLine = fields.TaskIdLine };
    }

    /// <summary>Decodes strict UTF-8 and removes a BOM, or returns null with the rejection.</summary>
    private static string? Decode(string path, byte[] content, out SpecParseResult? error)
    {
        error = null;
        if (content.Length >= 2 && (content[0], content[1]) is (0xFF, 0xFE) or (0xFE, 0xFF))
        {
            error = Reject(path, 1, "the file is UTF-16 encoded: save it as UTF-8");
            return null;
        }

        string text;
        try
        {
            text = StrictUtf8.GetString(content);
        }
        catch (DecoderFallbackException exception)
        {
            var offset = exception.Index is >= 0 and var index && index < content.Length ? index : -1;
            int? line = offset >= 0 ? content.AsSpan(0, offset).Count((byte)'\n') + 1 : null;
            var where = offset >= 0 ? $" (byte 0x{content[offset]:X2} at offset {offset})" : "";
            error = Reject(path, line, $"the file is not valid UTF-8{where}: save it as UTF-8");
            return null;
        }

        return text.StartsWith('\uFEFF') ? text[1..] : text;
    }

    private static SpecParseResult Reject(string path, int? line, string message)
    {
        var diagnostic = new SpecDiagnostic(path, line, DiagnosticSeverity.Error, message);
        return new SpecParseResult { Error = diagnostic, Errors = [diagnostic] };
    }
}
