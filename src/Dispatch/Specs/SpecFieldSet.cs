using YamlDotNet.RepresentationModel;

namespace Dispatch.Specs;

/// <summary>
/// The front-matter fields of one spec after validation. A field is null when
/// it is absent or invalid, and the reader's errors record which.
/// </summary>
internal sealed class SpecFieldSet
{
    private const string TaskReferenceFix =
        "use a task id or project/task_id, each part made of 1–128 characters from A–Z, a–z, 0–9, '.', '_' and '-', not starting with '.'";

    private const string ListFix = "use a list such as [first-task, other-project/second-task], or one task id";

    private const string ModifiesFix = "use a list of repository-relative paths such as [src/app.py, docs/], or one path";

    public string? TaskId { get; private set; }

    public int? TaskIdLine { get; private set; }

    public string? Project { get; private set; }

    public int? Priority { get; private set; }

    public int? EstimatedMinutes { get; private set; }

    public int? TimeoutMinutes { get; private set; }

    public IReadOnlyList<string> DependsOn { get; private set; } = [];

    public IReadOnlyList<string> Modifies { get; private set; } = [];

    public bool? Exclusive { get; private set; }

    public string? Executor { get; private set; }

    public int? MaxRetries { get; private set; }

    public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Reads every key of <paramref name="mapping"/>. <paramref name="fileStem"/>
    /// (the file name without extension) is only used to suggest a task id.
    /// </summary>
    public static SpecFieldSet Read(SpecFieldReader reader, YamlMappingNode mapping, string fileStem,
        string? projectOverride, string? folderProject)
    {
        var set = new SpecFieldSet();
        var known = new Dictionary<string, (YamlNode Key, YamlNode Value)>(StringComparer.Ordinal);

        foreach (var (key, value) in mapping.Children)
        {
            var name = key is YamlScalarNode { Value: { } text } ? text : YamlValues.Display(key);
            if (SpecKeys.IsKnown(name))
            {
                known[name] = (key, value);
                continue;
            }

            set.ReadMetadata(reader, name, key, value);
        }

        set.ReadTaskId(reader, known, fileStem);
        set.ReadProject(reader, known, projectOverride, folderProject);
        set.ReadScalars(reader, known);
        set.ReadDependsOn(reader, known);
        set.ReadModifies(reader, known);
        return set;
    }

    private void ReadMetadata(SpecFieldReader reader, string name, YamlNode key, YamlNode value)
    {
        var json = YamlValues.ToJson(value);
        if (json is null)
        {
            reader.Error(key,
                $"the value of \"{name}\" expands to more than {YamlValues.MaxJsonNodes} items or {YamlFrontMatterReader.MaxDepth} levels (through YAML aliases or nesting): shorten it");
            return;
        }

        Metadata[name] = json;

        var likely = SpecKeys.FindLikelyKey(name);
        if (likely is not null)
        {
            reader.Warning(key,
                $"unknown key \"{name}\" is kept as metadata and has no effect on scheduling: if you meant \"{likely}\", rename it");
        }
    }

    private void ReadTaskId(SpecFieldReader reader, Dictionary<string, (YamlNode Key, YamlNode Value)> known, string fileStem)
    {
        var suggestion = SpecNames.IsValid(fileStem) ? fileStem : "my-task";
        if (!known.TryGetValue(SpecKeys.TaskId, out var field))
        {
            reader.Error(null, $"task_id is missing: add a line such as \"task_id: {suggestion}\" to the front-matter ({SpecNames.RuleText})");
            return;
        }

        TaskIdLine = reader.LineOf(field.Key);
        var text = reader.ReadText(SpecKeys.TaskId, field.Key, field.Value, $"write one id, such as \"{suggestion}\" ({SpecNames.RuleText})");
        if (text is null)
        {
            // Null, "" and "  " are all empty; a list or mapping was already reported by ReadText.
            if (YamlValues.IsNull(field.Value) || field.Value is YamlDotNet.RepresentationModel.YamlScalarNode)
            {
                reader.Error(field.Key, $"task_id is empty: write an id, such as \"task_id: {suggestion}\" ({SpecNames.RuleText})");
            }

            return;
        }

        var problem = SpecNames.Describe(text);
        if (problem is not null)
        {
            reader.Error(field.Key, $"task_id \"{text}\" is not valid because {problem}: {SpecNames.RuleText}");
            return;
        }

        TaskId = text;
    }

    private void ReadProject(SpecFieldReader reader, Dictionary<string, (YamlNode Key, YamlNode Value)> known,
        string? projectOverride, string? folderProject)
    {
        string? frontMatterProject = null;
        YamlNode? projectKey = null;
        if (known.TryGetValue(SpecKeys.Project, out var field))
        {
            projectKey = field.Key;
            frontMatterProject = reader.ReadText(SpecKeys.Project, field.Key, field.Value, $"write one project name ({SpecNames.RuleText})");
        }

        var (project, source, at) = (projectOverride?.Trim(), folderProject?.Trim()) switch
        {
            ({ Length: > 0 } given, _) => (given, "given on the command line", (YamlNode?)null),
            _ when frontMatterProject is not null => (frontMatterProject, "in the front-matter", projectKey),
            (_, { Length: > 0 } folder) => (folder, "taken from the folder name", null),
            _ => ((string?)null, "", null),
        };

        if (project is null)
        {
            // An invalid front-matter value has already been reported.
            if (projectKey is null || YamlValues.IsNull(field.Value))
            {
                reader.Error(projectKey,
                    "project is missing: add a line such as \"project: my-project\" to the front-matter, put the file in a folder named after its project, or name the project on the command line");
            }

            return;
        }

        var problem = SpecNames.Describe(project);
        if (problem is not null)
        {
            reader.Error(at, $"project \"{project}\" {source} is not valid because {problem}: {SpecNames.RuleText}");
            return;
        }

        Project = project;
    }

    private void ReadScalars(SpecFieldReader reader, Dictionary<string, (YamlNode Key, YamlNode Value)> known)
    {
        if (known.TryGetValue(SpecKeys.Priority, out var field))
        {
            Priority = reader.ReadPriority(field.Key, field.Value);
        }

        var minutesFix = $"use a whole number of minutes from 1 to {SpecFieldReader.MaxMinutes}, such as 30";
        if (known.TryGetValue(SpecKeys.EstimatedMinutes, out field))
        {
            EstimatedMinutes = reader.ReadInteger(SpecKeys.EstimatedMinutes, field.Key, field.Value, 1, SpecFieldReader.MaxMinutes, minutesFix);
        }

        if (known.TryGetValue(SpecKeys.TimeoutMinutes, out field))
        {
            TimeoutMinutes = reader.ReadInteger(SpecKeys.TimeoutMinutes, field.Key, field.Value, 1, SpecFieldReader.MaxMinutes, minutesFix);
        }

        if (known.TryGetValue(SpecKeys.MaxRetries, out field))
        {
            MaxRetries = reader.ReadInteger(SpecKeys.MaxRetries, field.Key, field.Value, 0, int.MaxValue,
                "use a whole number of retries after the first attempt, 0 or more, such as 3");
        }

        if (known.TryGetValue(SpecKeys.Exclusive, out field))
        {
            Exclusive = reader.ReadBoolean(SpecKeys.Exclusive, field.Key, field.Value);
        }

        if (known.TryGetValue(SpecKeys.Executor, out field))
        {
            var fix = $"write the name of a configured executor, such as \"claude\" ({SpecNames.RuleText})";
            var executor = reader.ReadText(SpecKeys.Executor, field.Key, field.Value, fix);
            var problem = executor is null ? null : SpecNames.Describe(executor);
            if (problem is not null)
            {
                reader.Error(field.Key, $"executor \"{executor}\" is not valid because {problem}: {fix}");
            }
            else
            {
                Executor = executor;
            }
        }
    }

    private void ReadDependsOn(SpecFieldReader reader, Dictionary<string, (YamlNode Key, YamlNode Value)> known)
    {
        if (!known.TryGetValue(SpecKeys.DependsOn, out var field))
        {
            return;
        }

        var dependencies = new List<string>();
        foreach (var (item, node) in reader.ReadList(SpecKeys.DependsOn, field.Key, field.Value, ListFix))
        {
            var problem = DescribeReference(item);
            if (problem is not null)
            {
                var fix = item.Contains(',') ? "write a list such as [first-task, second-task] instead of one string with commas" : TaskReferenceFix;
                reader.Error(node, $"depends_on item \"{item}\" is not valid because {problem}: {fix}");
                continue;
            }

            if (TaskId is not null && (item == TaskId || Project is not null && item == $"{Project}/{TaskId}"))
            {
                reader.Error(node, $"depends_on item \"{item}\" is not valid because it is this task itself: remove it");
                continue;
            }

            if (!dependencies.Contains(item, StringComparer.Ordinal))
            {
                dependencies.Add(item);
            }
        }

        DependsOn = dependencies;
    }

    private void ReadModifies(SpecFieldReader reader, Dictionary<string, (YamlNode Key, YamlNode Value)> known)
    {
        if (!known.TryGetValue(SpecKeys.Modifies, out var field))
        {
            return;
        }

        var paths = new List<string>();
        foreach (var (item, node) in reader.ReadList(SpecKeys.Modifies, field.Key, field.Value, ModifiesFix))
        {
            var result = SpecPaths.Normalize(item);
            if (result.Warning is not null)
            {
                reader.Warning(node, result.Warning);
            }

            if (result.Error is not null)
            {
                reader.Error(node, result.Error);
                continue;
            }

            if (!paths.Contains(result.Path!, StringComparer.Ordinal))
            {
                paths.Add(result.Path!);
            }
        }

        Modifies = paths;
    }

    /// <summary>Returns why <paramref name="reference"/> is not a task id or project/task_id, or null when it is one.</summary>
    private static string? DescribeReference(string reference)
    {
        var slash = reference.LastIndexOf('/');
        if (slash < 0)
        {
            return SpecNames.Describe(reference);
        }

        var projectProblem = SpecNames.Describe(reference[..slash]);
        if (projectProblem is not null)
        {
            return $"its project part \"{reference[..slash]}\" is not valid ({projectProblem})";
        }

        var idProblem = SpecNames.Describe(reference[(slash + 1)..]);
        return idProblem is null ? null : $"its task id part \"{reference[(slash + 1)..]}\" is not valid ({idProblem})";
    }
}
