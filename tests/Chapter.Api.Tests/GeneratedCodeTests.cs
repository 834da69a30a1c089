using System.Text.RegularExpressions;
using JasperFx.CodeGeneration;
using Microsoft.Extensions.DependencyInjection;

namespace Chapter.Api.Tests;

/// <summary>The service runs its Wolverine handlers on code generated ahead of time; it must be what the handlers need now.</summary>
public sealed partial class GeneratedCodeTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public void The_committed_handler_code_is_what_codegen_writes_today()
    {
        var collections = api.Services.GetServices<ICodeFileCollection>().ToArray();
        var generated = new DynamicCodeBuilder(api.Services, collections)
        {
            ServiceVariableSource = api.Services.GetRequiredService<JasperFx.CodeGeneration.Model.IServiceVariableSource>(),
        }.GenerateAllCode();

        var committed = string.Concat(Directory.GetFiles(Path.Combine(Repository.Root, "src/Chapter.Api/Internal/Generated/WolverineHandlers"), "*.cs")
            .Select(File.ReadAllText));

        Classes(committed).ShouldBe(Classes(generated), ignoreOrder: true,
            customMessage: "Stale: run ./chapter codegen and commit src/Chapter.Api/Internal/Generated.");
        Classes(generated).Select(c => c.Name).ShouldContain(name => name.StartsWith("POST_api_chapters_chapterId_referrals"));
    }

    private static (string Name, string Code)[] Classes(string code) =>
        [.. Block().Matches(code).Select(m => (m.Groups[1].Value, Regex.Replace(m.Groups[2].Value, @"\s+", " ").Trim()))];

    [GeneratedRegex(@"// START: (\S+)(.*?)// END: \1", RegexOptions.Singleline)]
    private static partial Regex Block();
}
