using System.Security.Cryptography;
using System.Text;
using Dispatch.Specs;
using Xunit;

namespace Dispatch.Tests.Specs;

public class SpecParserTests
{
    private const string Body = "## Goal\nDo the thing.\n";

    private static SpecParseResult Parse(string text, string? folderProject = "demo", string? projectOverride = null, string path = "specs/demo/T01-task.md") =>
        SpecParser.Parse(path, Encoding.UTF8.GetBytes(text), projectOverride, folderProject);

    private static SpecParseResult ParseFields(string fields, string? folderProject = "demo") =>
        Parse($"---\ntask_id: T01-task\n{fields}\n---\n{Body}", folderProject);

    private static TaskSpec ParseValid(string fields)
    {
        var result = ParseFields(fields);
        Assert.True(result.Succeeded, result.Error?.ToString());
        return result.Spec!;
    }

    private static SpecDiagnostic ParseInvalid(string fields)
    {
        var result = ParseFields(fields);
        Assert.False(result.Succeeded);
        Assert.NotNull(result.Error);
        Assert.Equal(DiagnosticSeverity.Error, result.Error.Severity);
        return result.Error;
    }

    [Fact]
    public void Minimal_UsesDefaults()
    {
        var spec = ParseValid("project: demo");

        Assert.Equal("T01-task", spec.TaskId);
        Assert.Equal("demo", spec.Project);
        Assert.Equal(SpecDefaults.Priority, spec.Priority);
        Assert.Equal(SpecDefaults.EstimatedMinutes, spec.EstimatedMinutes);
        Assert.Null(spec.TimeoutMinutes);
        Assert.Empty(spec.DependsOn);
        Assert.Empty(spec.Modifies);
        Assert.False(spec.Exclusive);
        Assert.Null(spec.Executor);
        Assert.Null(spec.MaxRetries);
        Assert.Empty(spec.Metadata);
        Assert.Equal(Body, spec.Body);
        Assert.Equal("specs/demo/T01-task.md", spec.SourcePath);
    }

    [Fact]
    public void AllFields_AreRead()
    {
        var spec = ParseValid("""
            project: other
            priority: 1
            estimated_minutes: 45
            timeout_minutes: 90
            depends_on: ["S01-db", "S04-health"]
            modifies: ["infra/Dockerfile", "infra/compose.yml"]
            exclusive: true
            executor: glm
            max_retries: 0
            """);

        Assert.Equal("other", spec.Project);
        Assert.Equal(1, spec.Priority);
        Assert.Equal(45, spec.EstimatedMinutes);
        Assert.Equal(90, spec.TimeoutMinutes);
        Assert.Equal(["S01-db", "S04-health"], spec.DependsOn);
        Assert.Equal(["infra/Dockerfile", "infra/compose.yml"], spec.Modifies);
        Assert.True(spec.Exclusive);
        Assert.Equal("glm", spec.Executor);
        Assert.Equal(0, spec.MaxRetries);
        Assert.Equal(TimeSpan.FromMinutes(90), spec.Timeout);
    }

    [Fact]
    public void ContentHash_IsSha256OfBytes()
    {
        var text = $"---\ntask_id: T01\n---\n{Body}";
        var bytes = Encoding.UTF8.GetBytes(text);

        var spec = SpecParser.Parse("a.md", bytes, null, "demo").Spec!;

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), spec.ContentHash);
        Assert.Equal(64, spec.ContentHash.Length);
        Assert.Equal(text, spec.Content);
    }

    [Theory]
    [InlineData("critical", 0)]
    [InlineData("URGENT", 0)]
    [InlineData("High", 1)]
    [InlineData("high", 1)]
    [InlineData("Medium", 2)]
    [InlineData("NORMAL", 2)]
    [InlineData("Low", 3)]
    [InlineData("0", 0)]
    [InlineData("7", 7)]
    [InlineData("\"3\"", 3)]
    public void Priority_WordsAnyCase(string written, int expected)
    {
        Assert.Equal(expected, ParseValid($"priority: {written}").Priority);
    }

    [Theory]
    [InlineData("高", 1)]
    [InlineData("中", 2)]
    [InlineData("低", 3)]
    public void Priority_ChineseWords(string written, int expected)
    {
        Assert.Equal(expected, ParseValid($"priority: {written}").Priority);
    }

    [Theory]
    [InlineData("1 # from the template", 1)]
    [InlineData("\"high # from the template\"", 1)]
    [InlineData("'低 # 备注'", 3)]
    public void Priority_TrailingComment(string written, int expected)
    {
        Assert.Equal(expected, ParseValid($"priority: {written}").Priority);
    }

    [Fact]
    public void Priority_EmptyUsesDefault()
    {
        Assert.Equal(SpecDefaults.Priority, ParseValid("priority:").Priority);
    }

    [Fact]
    public void Priority_UnfilledPlaceholder()
    {
        var error = ParseInvalid("project: demo\npriority: {priority}");

        Assert.StartsWith(
            "priority \"{priority}\" is not valid: use an integer (0 = most urgent) or one of critical, urgent, high, medium, normal, low, 高, 中, 低",
            error.Message);
        Assert.Contains("placeholder", error.Message);
        Assert.Equal(4, error.Line);
    }

    [Theory]
    [InlineData("5x")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("highest")]
    [InlineData("[1]")]
    [InlineData("\"{{priority}}\"")]
    public void Priority_Invalid(string written)
    {
        var error = ParseInvalid($"priority: {written}");

        Assert.StartsWith("priority \"", error.Message);
        Assert.Contains("use an integer (0 = most urgent)", error.Message);
        Assert.Equal(3, error.Line);
    }

    [Fact]
    public void Modifies_OneString()
    {
        Assert.Equal(["new-ventures"], ParseValid("modifies: \"new-ventures\"").Modifies);
    }

    [Fact]
    public void Modifies_BlockList()
    {
        var spec = ParseValid("modifies:\n  - dispatch/gateway.py\n  - dispatch/config.json");

        Assert.Equal(["dispatch/gateway.py", "dispatch/config.json"], spec.Modifies);
    }

    [Fact]
    public void Modifies_FlowList()
    {
        var spec = ParseValid("modifies: [src/a.rs, \"tests/a_test.rs\"]");

        Assert.Equal(["src/a.rs", "tests/a_test.rs"], spec.Modifies);
    }

    [Fact]
    public void Modifies_EmptyValue()
    {
        Assert.Empty(ParseValid("modifies:").Modifies);
        Assert.Empty(ParseValid("modifies: []").Modifies);
        Assert.Empty(ParseValid("modifies: [\"\", \"  \"]").Modifies);
    }

    [Fact]
    public void Modifies_Normalised()
    {
        var spec = ParseValid(@"modifies: [' ./src\app.py ', 'a/../b/c', 'docs//guide/', './x/./y', 'src/app.py']");

        Assert.Equal(["src/app.py", "b/c", "docs/guide", "x/y"], spec.Modifies);
    }

    [Fact]
    public void Modifies_TrailingWildcardIsDirectory()
    {
        var result = ParseFields("modifies: [\"oyster/frontend/*\", \"lib/**\"]");

        Assert.True(result.Succeeded);
        Assert.Equal(["oyster/frontend", "lib"], result.Spec!.Modifies);
        Assert.Equal(2, result.Warnings.Count);
        Assert.Contains("read as the directory \"oyster/frontend\"", result.Warnings[0].Message);
    }

    [Fact]
    public void Modifies_InnerWildcardWarns()
    {
        var result = ParseFields("modifies: [\"src/*.py\"]");

        Assert.True(result.Succeeded);
        Assert.Equal(["src/*.py"], result.Spec!.Modifies);
        Assert.Contains(result.Warnings, warning => warning.Message.Contains("compared literally"));
    }

    [Theory]
    [InlineData("/etc/passwd", "absolute path")]
    [InlineData(@"\\server\share", "absolute path")]
    [InlineData(@"C:\repo\file.txt", "drive letter")]
    [InlineData("c:file.txt", "drive letter")]
    [InlineData("~/notes.md", "home directory")]
    public void Modifies_AbsolutePathRejected(string written, string reason)
    {
        var error = ParseInvalid($"modifies: ['src/ok.py', '{written}']");

        Assert.Contains("is not valid", error.Message);
        Assert.Contains(reason, error.Message);
        Assert.Contains("relative to the repository root", error.Message);
        Assert.Equal(3, error.Line);
    }

    [Theory]
    [InlineData("../outside.txt")]
    [InlineData("src/../../outside.txt")]
    [InlineData("./..")]
    public void Modifies_EscapingPathRejected(string written)
    {
        var error = ParseInvalid($"modifies: \"{written}\"");

        Assert.Contains("leads out of the repository root", error.Message);
    }

    [Fact]
    public void Modifies_WholeRepositoryRejected()
    {
        var error = ParseInvalid("modifies: [\".\"]");

        Assert.Contains("names the whole repository", error.Message);
        Assert.Contains("exclusive: true", error.Message);
    }

    [Fact]
    public void Modifies_LineOfBlockItem()
    {
        var error = ParseInvalid("modifies:\n  - src/ok.py\n  - /abs/path.py");

        Assert.Equal(5, error.Line);
    }

    [Fact]
    public void DependsOn_FlowList()
    {
        Assert.Equal(["B02", "B07"], ParseValid("depends_on: [B02, B07]").DependsOn);
    }

    [Fact]
    public void DependsOn_BlockList()
    {
        Assert.Equal(["S01-db", "S02-schema"], ParseValid("depends_on:\n  - S01-db\n  - \" S02-schema \"").DependsOn);
    }

    [Fact]
    public void DependsOn_OneString()
    {
        Assert.Equal(["S07-pull-mode-v2"], ParseValid("depends_on: S07-pull-mode-v2").DependsOn);
    }

    [Fact]
    public void DependsOn_EmptyForms()
    {
        Assert.Empty(ParseValid("depends_on: []").DependsOn);
        Assert.Empty(ParseValid("depends_on:").DependsOn);
        Assert.Empty(ParseValid("depends_on: null").DependsOn);
        Assert.Empty(ParseValid("depends_on: \"\"").DependsOn);
    }

    [Fact]
    public void DependsOn_TrimmedAndDeduplicated()
    {
        var spec = ParseValid("depends_on: [\" A \", A, \"\", B, \"A\"]");

        Assert.Equal(["A", "B"], spec.DependsOn);
    }

    [Fact]
    public void DependsOn_ShortPrefixKeptAsWritten()
    {
        // Resolving B02 to B02-listmonk needs the other specs, so the resolver does it.
        Assert.Equal(["B02"], ParseValid("depends_on: [B02]").DependsOn);
    }

    [Fact]
    public void DependsOn_ProjectReference()
    {
        var spec = ParseValid("depends_on: [marketing/B02-listmonk, local-task]");

        Assert.Equal(["marketing/B02-listmonk", "local-task"], spec.DependsOn);
    }

    [Theory]
    [InlineData("T01-task")]
    [InlineData("demo/T01-task")]
    public void DependsOn_SelfRejected(string written)
    {
        var error = ParseInvalid($"project: demo\ndepends_on: [A, \"{written}\"]");

        Assert.Contains("is this task itself", error.Message);
        Assert.Contains("remove it", error.Message);
        Assert.Equal(4, error.Line);
    }

    [Fact]
    public void DependsOn_OtherProjectSameIdAllowed()
    {
        Assert.Equal(["other/T01-task"], ParseValid("project: demo\ndepends_on: [other/T01-task]").DependsOn);
    }

    [Theory]
    [InlineData("\"A, B\"", "instead of one string with commas")]
    [InlineData("[\"has space\"]", "it contains ' '")]
    [InlineData("[\"/T02\"]", "project part")]
    [InlineData("[\"a/b/T02\"]", "project part \"a/b\"")]
    [InlineData("[[nested]]", "is not valid")]
    public void DependsOn_InvalidItem(string written, string expected)
    {
        var error = ParseInvalid($"depends_on: {written}");

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void DependsOn_MappingRejected()
    {
        var error = ParseInvalid("depends_on: {deps}");

        Assert.StartsWith("depends_on \"{deps}\" is not valid: use a list", error.Message);
        Assert.Contains("placeholder", error.Message);
    }

    [Fact]
    public void Bom_Accepted()
    {
        var bytes = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes($"---\ntask_id: T01\n---\n{Body}")).ToArray();

        var result = SpecParser.Parse("bom.md", bytes, null, "demo");

        Assert.True(result.Succeeded, result.Error?.ToString());
        Assert.Equal("T01", result.Spec!.TaskId);
        Assert.False(result.Spec.Content.StartsWith('\uFEFF'));
        Assert.StartsWith("---", result.Spec.Content);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), result.Spec.ContentHash);
    }

    [Fact]
    public void Crlf_Accepted()
    {
        var text = "---\r\ntask_id: T01\r\npriority: high\r\nmodifies:\r\n  - src/a.py\r\n---\r\n## Goal\r\nText\r\n";

        var result = Parse(text);

        Assert.True(result.Succeeded, result.Error?.ToString());
        Assert.Equal("T01", result.Spec!.TaskId);
        Assert.Equal(1, result.Spec.Priority);
        Assert.Equal(["src/a.py"], result.Spec.Modifies);
        Assert.Equal("## Goal\r\nText\r\n", result.Spec.Body);
    }

    [Fact]
    public void Crlf_ErrorLineCounted()
    {
        var result = Parse("---\r\ntask_id: T01\r\nproject: demo\r\npriority: soon\r\n---\r\nBody\r\n");

        Assert.Equal(4, result.Error?.Line);
    }

    [Fact]
    public void TrailingSpaces_Accepted()
    {
        var text = "---  \ntask_id: T01  \nproject: demo  \npriority: 1  \ndepends_on: []  \nmodifies: [\"src/a.rs\"]  \n---  \n## Goal  \n";

        var result = Parse(text);

        Assert.True(result.Succeeded, result.Error?.ToString());
        Assert.Equal("T01", result.Spec!.TaskId);
        Assert.Equal("demo", result.Spec.Project);
        Assert.Equal(1, result.Spec.Priority);
        Assert.Equal(["src/a.rs"], result.Spec.Modifies);
        Assert.Equal("## Goal  \n", result.Spec.Body);
    }

    [Fact]
    public void DuplicatedHeader_StaysInBody()
    {
        var text = """
            ---
            task_id: G1-01
            project: demo
            priority: 2
            executor: glm
            ---
            task_id: G1-01
            project: demo
            priority: 3
            ---
            ## 目标
            """;

        var result = Parse(text);

        Assert.True(result.Succeeded, result.Error?.ToString());
        Assert.Equal(2, result.Spec!.Priority);
        Assert.Equal("glm", result.Spec.Executor);
        Assert.StartsWith("task_id: G1-01\nproject: demo\npriority: 3\n---\n## 目标", result.Spec.Body.ReplaceLineEndings("\n"));
        Assert.Empty(result.Spec.Metadata);
    }

    [Fact]
    public void ChineseText_InBodyAndFields()
    {
        var text = """
            ---
            task_id: R20260218-01
            project: oyster
            priority: 中
            title: 集成AI学习效果评估模型
            方向: "AI社媒内容工厂"
            ---
            ## 目标
            开发内容多样性优化算法
            """;

        var result = Parse(text);

        Assert.True(result.Succeeded, result.Error?.ToString());
        var spec = result.Spec!;
        Assert.Equal(2, spec.Priority);
        Assert.Equal("\"集成AI学习效果评估模型\"", spec.Metadata["title"]);
        Assert.Equal("\"AI社媒内容工厂\"", spec.Metadata["方向"]);
        Assert.Equal("## 目标\n开发内容多样性优化算法", spec.Body.ReplaceLineEndings("\n"));
        Assert.Contains("开发内容多样性优化算法", spec.Content);
    }

    [Fact]
    public void ChineseText_InProjectRejected()
    {
        var result = Parse("---\ntask_id: T01\nproject: 蚝-infra\n---\nBody\n");

        Assert.Equal(3, result.Error!.Line);
        Assert.Contains("project \"蚝-infra\" in the front-matter is not valid because it contains '蚝'", result.Error.Message);
    }

    [Fact]
    public void NoFrontMatter_Rejected()
    {
        var result = Parse("# Just a document\n\nSome text.\n");

        Assert.False(result.Succeeded);
        Assert.Equal(1, result.Error!.Line);
        Assert.StartsWith("no front-matter: a spec must start with a line \"---\"", result.Error.Message);
    }

    [Fact]
    public void NoFrontMatter_BlankLinesBefore()
    {
        var result = Parse("\n\n---\ntask_id: T01\n---\nBody\n");

        Assert.Equal(3, result.Error!.Line);
        Assert.Contains("remove the blank lines before it", result.Error.Message);
    }

    [Fact]
    public void NoFrontMatter_EmptyFile()
    {
        var result = Parse("");

        Assert.Contains("the file is empty", result.Error!.Message);
    }

    [Fact]
    public void FrontMatter_NotClosed()
    {
        var result = Parse("---\ntask_id: T01\n## Goal\n");

        Assert.Contains("is not closed", result.Error!.Message);
        Assert.Equal(1, result.Error.Line);
    }

    [Fact]
    public void NonUtf8_Rejected()
    {
        var bytes = Encoding.UTF8.GetBytes("---\ntask_id: T01\n---\n").Concat(new byte[] { 0x42, 0xFF, 0x0A }).ToArray();

        var result = SpecParser.Parse("latin.md", bytes, null, "demo");

        Assert.False(result.Succeeded);
        Assert.Contains("not valid UTF-8", result.Error!.Message);
        Assert.Contains("0xFF", result.Error.Message);
        Assert.Contains("save it as UTF-8", result.Error.Message);
        Assert.Equal(4, result.Error.Line);
    }

    [Fact]
    public void Utf16_Rejected()
    {
        var bytes = Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes("---\ntask_id: T01\n---\n")).ToArray();

        var result = SpecParser.Parse("wide.md", bytes, null, "demo");

        Assert.Contains("UTF-16", result.Error!.Message);
    }

    [Fact]
    public void OverOneMebibyte_Rejected()
    {
        var text = "---\ntask_id: T01\n---\n" + new string('x', SpecParser.MaxFileBytes);

        var result = Parse(text);

        Assert.False(result.Succeeded);
        Assert.Contains("1 MiB", result.Error!.Message);
        Assert.Contains("shorten it", result.Error.Message);
    }

    [Fact]
    public void ExactlyOneMebibyte_Accepted()
    {
        var head = "---\ntask_id: T01\n---\n";
        var text = head + new string('x', SpecParser.MaxFileBytes - head.Length);

        Assert.True(Parse(text).Succeeded);
    }

    [Fact]
    public void InvalidYaml_ReportsLine()
    {
        var result = Parse("---\ntask_id: T01\nproject: demo\ntitle: a: b\n---\nBody\n");

        Assert.False(result.Succeeded);
        Assert.Equal(4, result.Error!.Line);
        Assert.StartsWith("the front-matter is not valid YAML", result.Error.Message);
        Assert.Contains("quote values", result.Error.Message);
    }

    [Fact]
    public void InvalidYaml_UnclosedFlowMapping()
    {
        var result = Parse("---\ntask_id: T01\nmeta: {x: 1\nproject: demo\n---\nBody\n");

        Assert.False(result.Succeeded);
        Assert.Contains("not valid YAML", result.Error!.Message);
        Assert.InRange(result.Error.Line ?? 0, 3, 5);
    }

    [Fact]
    public void InvalidYaml_UnclosedFlowList()
    {
        var result = Parse("---\ntask_id: T01\ndepends_on: [A, B\n---\nBody\n");

        Assert.False(result.Succeeded);
        Assert.Contains("not valid YAML", result.Error!.Message);
        Assert.InRange(result.Error.Line ?? 0, 3, 4);
    }

    [Fact]
    public void InvalidYaml_DuplicateKey()
    {
        var result = Parse("---\ntask_id: T01\npriority: 1\npriority: 2\n---\nBody\n");

        Assert.Equal("key \"priority\" appears twice in the front-matter: remove one of them", result.Error!.Message);
        Assert.Equal(4, result.Error.Line);
    }

    [Fact]
    public void InvalidYaml_UndefinedAlias()
    {
        var result = Parse("---\ntask_id: T01\nproject: demo\nnote: *missing\n---\nBody\n");

        Assert.Equal(4, result.Error!.Line);
        Assert.Contains("define the anchor", result.Error.Message);
    }

    [Theory]
    [InlineData("meta: &self [1, *self]")]
    [InlineData("meta: &self {a: *self}")]
    [InlineData("depends_on: &self [*self]")]
    public void InvalidYaml_SelfReferringAlias(string field)
    {
        var result = Parse($"---\ntask_id: T01\n{field}\n---\nBody\n");

        Assert.Contains("is inside the value it refers to", result.Error!.Message);
        Assert.Equal(3, result.Error.Line);
    }

    [Theory]
    [InlineData("? &key [*key]\n: value")]
    [InlineData("? [a, b]\n: value")]
    [InlineData("meta: {[a]: b}")]
    [InlineData("name: &n x\n*n : y")]
    public void InvalidYaml_ComplexKey(string field)
    {
        var result = Parse($"---\ntask_id: T01\n{field}\n---\nBody\n");

        Assert.StartsWith("a front-matter key is a list, mapping or alias", result.Error!.Message);
    }

    [Fact]
    public void Yaml_AliasOfEarlierValue()
    {
        var spec = ParseValid("modifies: &paths [src/a.py, src/b.py]\nreview_paths: *paths");

        Assert.Equal(["src/a.py", "src/b.py"], spec.Modifies);
        Assert.Equal("[\"src/a.py\",\"src/b.py\"]", spec.Metadata["review_paths"]);
    }

    [Fact]
    public void InvalidYaml_DeepNesting()
    {
        var nested = new string('[', 5000) + new string(']', 5000);

        var result = Parse($"---\ntask_id: T01\nmeta: {nested}\n---\nBody\n");

        Assert.False(result.Succeeded);
        Assert.Contains("nested more than", result.Error!.Message);
    }

    [Fact]
    public void InvalidYaml_AliasExpansion()
    {
        var yaml = new StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (var i = 1; i < 8; i++)
        {
            var previous = string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10));
            yaml.Append($"a{i}: &a{i} [{previous}]\n");
        }

        var result = Parse($"---\ntask_id: T01\n{yaml}---\nBody\n");

        Assert.False(result.Succeeded);
        Assert.Contains("expands to more than", result.Error!.Message);
    }

    [Fact]
    public void FrontMatter_NotAMapping()
    {
        var result = Parse("---\njust a sentence\n---\nBody\n");

        Assert.Contains("must be \"key: value\" lines", result.Error!.Message);
        Assert.Equal(2, result.Error.Line);
    }

    [Fact]
    public void FrontMatter_Empty()
    {
        var result = Parse("---\n---\nBody\n");

        Assert.StartsWith("task_id is missing", result.Error!.Message);
    }

    [Theory]
    [InlineData("bad id", "it contains ' '")]
    [InlineData(".hidden", "it starts with '.'")]
    [InlineData("a/b", "it contains '/'")]
    [InlineData("任务", "it contains '任'")]
    public void TaskId_Invalid(string written, string reason)
    {
        var result = Parse($"---\ntask_id: \"{written}\"\nproject: demo\n---\nBody\n");

        Assert.Equal($"task_id \"{written}\" is not valid because {reason}: {SpecNames.RuleText}", result.Error!.Message);
        Assert.Equal(2, result.Error.Line);
        Assert.Equal(2, result.TaskIdLine);
    }

    [Fact]
    public void TaskId_TooLong()
    {
        var longId = new string('a', 129);

        var result = Parse($"---\ntask_id: {longId}\n---\nBody\n");

        Assert.Contains("129 characters long, more than 128", result.Error!.Message);
        Assert.True(Parse($"---\ntask_id: {longId[..128]}\n---\nBody\n").Succeeded);
    }

    [Fact]
    public void TaskId_Missing()
    {
        var result = Parse("---\nproject: demo\n---\nBody\n", path: "specs/S05-dockerize.md");

        Assert.Equal($"task_id is missing: add a line such as \"task_id: S05-dockerize\" to the front-matter ({SpecNames.RuleText})", result.Error!.Message);
        Assert.Null(result.Error.Line);
    }

    [Fact]
    public void TaskId_Empty()
    {
        var result = Parse("---\ntask_id:\n---\nBody\n");

        Assert.StartsWith("task_id is empty", result.Error!.Message);
        Assert.Equal(2, result.Error.Line);
    }

    [Fact]
    public void TaskId_Placeholder()
    {
        var result = Parse("---\ntask_id: {task_id}\n---\nBody\n");

        Assert.StartsWith("task_id \"{task_id}\" is not valid", result.Error!.Message);
        Assert.Contains("placeholder", result.Error.Message);
    }

    [Fact]
    public void TaskId_NumericKeptAsText()
    {
        Assert.Equal("007", Parse("---\ntask_id: 007\n---\nBody\n").Spec!.TaskId);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("abc")]
    [InlineData("45m")]
    [InlineData("2.5")]
    [InlineData("600000")]
    [InlineData("{estimated_minutes}")]
    public void EstimatedMinutes_Invalid(string written)
    {
        var error = ParseInvalid($"estimated_minutes: {written}");

        Assert.StartsWith("estimated_minutes \"", error.Message);
        Assert.Contains("use a whole number of minutes from 1 to 525600", error.Message);
        Assert.Equal(3, error.Line);
    }

    [Fact]
    public void EstimatedMinutes_QuotedAccepted()
    {
        Assert.Equal(45, ParseValid("estimated_minutes: \"45\"").EstimatedMinutes);
    }

    [Fact]
    public void TimeoutMinutes_Invalid()
    {
        var error = ParseInvalid("timeout_minutes: 0");

        Assert.StartsWith("timeout_minutes \"0\" is not valid", error.Message);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("many")]
    public void MaxRetries_Invalid(string written)
    {
        var error = ParseInvalid($"max_retries: {written}");

        Assert.Contains("0 or more", error.Message);
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("False", false)]
    [InlineData("YES", true)]
    [InlineData("no", false)]
    [InlineData("\"yes # lock the project\"", true)]
    public void Exclusive_Booleans(string written, bool expected)
    {
        Assert.Equal(expected, ParseValid($"exclusive: {written}").Exclusive);
    }

    [Fact]
    public void Exclusive_Invalid()
    {
        var error = ParseInvalid("exclusive: maybe");

        Assert.Equal("exclusive \"maybe\" is not valid: use true or false (yes and no are accepted too)", error.Message);
    }

    [Fact]
    public void Executor_Invalid()
    {
        var error = ParseInvalid("executor: \"claude code\"");

        Assert.Contains("executor \"claude code\" is not valid because it contains ' '", error.Message);
    }

    [Fact]
    public void Project_OverrideWins()
    {
        var result = Parse("---\ntask_id: T01\nproject: front\n---\nBody\n", folderProject: "folder", projectOverride: "cli");

        Assert.Equal("cli", result.Spec!.Project);
    }

    [Fact]
    public void Project_FrontMatterBeatsFolder()
    {
        var result = Parse("---\ntask_id: T01\nproject: front\n---\nBody\n", folderProject: "folder");

        Assert.Equal("front", result.Spec!.Project);
    }

    [Fact]
    public void Project_FolderUsedLast()
    {
        var result = Parse("---\ntask_id: T01\n---\nBody\n", folderProject: "folder");

        Assert.Equal("folder", result.Spec!.Project);
    }

    [Fact]
    public void Project_Missing()
    {
        var result = Parse("---\ntask_id: T01\n---\nBody\n", folderProject: null);

        Assert.False(result.Succeeded);
        Assert.StartsWith("project is missing: add a line such as \"project: my-project\"", result.Error!.Message);
        Assert.Contains("on the command line", result.Error.Message);
    }

    [Fact]
    public void Project_InvalidOverride()
    {
        var result = Parse("---\ntask_id: T01\n---\nBody\n", projectOverride: "my project");

        Assert.Contains("project \"my project\" given on the command line is not valid", result.Error!.Message);
    }

    [Fact]
    public void Project_InvalidFolderName()
    {
        var result = Parse("---\ntask_id: T01\n---\nBody\n", folderProject: ".drafts");

        Assert.Contains("taken from the folder name is not valid because it starts with '.'", result.Error!.Message);
    }

    [Theory]
    [InlineData("modifiers", "modifies")]
    [InlineData("depends", "depends_on")]
    [InlineData("dependencies", "depends_on")]
    [InlineData("taskid", "task_id")]
    [InlineData("task-id", "task_id")]
    [InlineData("prority", "priority")]
    [InlineData("executer", "executor")]
    [InlineData("Priority", "priority")]
    [InlineData("estimate_minutes", "estimated_minutes")]
    [InlineData("max-retries", "max_retries")]
    public void NearMissKey_Warns(string written, string likely)
    {
        var result = ParseFields($"{written}: x");

        Assert.True(result.Succeeded, result.Error?.ToString());
        var warning = Assert.Single(result.Warnings);
        Assert.Equal(DiagnosticSeverity.Warning, warning.Severity);
        Assert.Equal($"unknown key \"{written}\" is kept as metadata and has no effect on scheduling: if you meant \"{likely}\", rename it", warning.Message);
        Assert.Equal(3, warning.Line);
        Assert.Equal("\"x\"", result.Spec!.Metadata[written]);
    }

    [Theory]
    [InlineData("owner")]
    [InlineData("title")]
    [InlineData("status")]
    [InlineData("created")]
    public void OtherKey_NoWarning(string written)
    {
        var result = ParseFields($"{written}: x");

        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Metadata_KeptAsJson()
    {
        var spec = ParseValid("""
            owner: alice
            count: 3
            ratio: 0.5
            flag: true
            nothing: ~
            quoted: "42"
            leading_zero: 007
            tags: [a, b]
            nested:
              key: value
              list:
                - 1
            """);

        Assert.Equal("\"alice\"", spec.Metadata["owner"]);
        Assert.Equal("3", spec.Metadata["count"]);
        Assert.Equal("0.5", spec.Metadata["ratio"]);
        Assert.Equal("true", spec.Metadata["flag"]);
        Assert.Equal("null", spec.Metadata["nothing"]);
        Assert.Equal("\"42\"", spec.Metadata["quoted"]);
        Assert.Equal("\"007\"", spec.Metadata["leading_zero"]);
        Assert.Equal("[\"a\",\"b\"]", spec.Metadata["tags"]);
        Assert.Equal("{\"key\":\"value\",\"list\":[1]}", spec.Metadata["nested"]);
    }

    [Fact]
    public void EmptyBody_Warns()
    {
        var result = Parse("---\ntask_id: T01\n---\n");

        Assert.True(result.Succeeded);
        var warning = Assert.Single(result.Warnings);
        Assert.Contains("body after the front-matter is empty", warning.Message);
        Assert.Equal(3, warning.Line);
    }

    [Fact]
    public void MultipleErrors_FirstByLine()
    {
        var result = ParseFields("priority: soon\nestimated_minutes: 0\nmodifies: /abs");

        Assert.Equal(3, result.Errors.Count);
        Assert.Same(result.Errors[0], result.Error);
        Assert.Equal([3, 4, 5], result.Errors.Select(error => error.Line ?? 0));
    }

    [Fact]
    public void Errors_HaveFixSentence()
    {
        var result = ParseFields("priority: soon\nestimated_minutes: 0\nexclusive: perhaps\ndepends_on: [\"a b\"]\nmodifies: ../x");

        Assert.All(result.Errors, error => Assert.Matches("[:;] (use|write|list|remove)", error.Message));
    }

    [Fact]
    public void RandomBytes_NeverThrow()
    {
        var random = new Random(20240601);
        var fragments = new[] { "---\n", "task_id: ", "T1", "\n", ": ", "[", "]", "{", "}", "\"", "'", "&a ", "*a", "- ", "  ", "#", "\r\n", "高", "\t", "?", "|", ">" };
        for (var i = 0; i < 2000; i++)
        {
            byte[] bytes;
            if (i % 2 == 0)
            {
                bytes = new byte[random.Next(0, 200)];
                random.NextBytes(bytes);
            }
            else
            {
                var text = new StringBuilder("---\n");
                for (var j = random.Next(1, 40); j > 0; j--)
                {
                    text.Append(fragments[random.Next(fragments.Length)]);
                }

                bytes = Encoding.UTF8.GetBytes(text.ToString());
            }

            var result = SpecParser.Parse("fuzz.md", bytes, null, "demo");

            Assert.True(result.Succeeded || result.Error is not null);
        }
    }
}
