using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NJsonSchema.CodeGeneration.CSharp;
using NSwag;
using NSwag.CodeGeneration.CSharp;
using NSwag.CodeGeneration.OperationNameGenerators;

namespace Chapter.Api.Tests;

/// <summary>
/// The document stays true to the service: a C# client generated from /openapi/v1.json by NSwag compiles, and with it a
/// chapter, its members and a referral go through their whole lifecycle.
/// </summary>
public sealed class GeneratedClientTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static Assembly Compile(string code)
    {
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Select(path => MetadataReference.CreateFromFile(path));
        var compilation = CSharpCompilation.Create($"Generated{Guid.NewGuid():N}", [CSharpSyntaxTree.ParseText(code)], references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        emitted.Success.ShouldBeTrue(string.Join("\n", emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(20)));
        image.Position = 0;
        return new AssemblyLoadContext("generated-client", isCollectible: true).LoadFromStream(image);
    }

    private sealed class Generated(Assembly assembly, object client)
    {
        public Type Type(string name) => assembly.GetType($"Generated.{name}") ?? throw new InvalidOperationException($"No generated type {name}.");

        /// <summary>A generated model with these properties set (names as in C#).</summary>
        public object New(string name, params (string Property, object? Value)[] values)
        {
            var model = Activator.CreateInstance(Type(name))!;
            foreach (var (property, value) in values)
            {
                var target = model.GetType().GetProperty(property) ?? throw new InvalidOperationException($"{name} has no {property}.");
                // A required enum is the enum itself; an optional one, nullable.
                var enumType = Nullable.GetUnderlyingType(target.PropertyType) ?? target.PropertyType;
                target.SetValue(model, value is string text && enumType.IsEnum ? Enum.Parse(enumType, text, ignoreCase: true) : value);
            }
            return model;
        }

        public async Task<object?> CallAsync(string operation, params object?[] arguments)
        {
            var method = client.GetType().GetMethods().Single(m => m.Name == operation + "Async" && m.GetParameters().Length == arguments.Length);
            var task = (Task)method.Invoke(client, arguments)!;
            await task;
            return task.GetType().GetProperty("Result")?.GetValue(task);
        }

        public static object? Read(object model, string property) => model.GetType().GetProperty(property)!.GetValue(model);
    }

    private async Task<Generated> GenerateAsync(HttpClient http)
    {
        var document = await OpenApiDocument.FromJsonAsync(await api.CreateClient().GetStringAsync("/openapi/v1.json"));
        var settings = new CSharpClientGeneratorSettings
        {
            ClassName = "ChapterClient",
            UseBaseUrl = false,
            GenerateClientInterfaces = false,
            OperationNameGenerator = new SingleClientFromOperationIdOperationNameGenerator(),
            CSharpGeneratorSettings = { Namespace = "Generated", JsonLibrary = CSharpJsonLibrary.SystemTextJson, GenerateNullableReferenceTypes = true },
        };
        var assembly = Compile(new CSharpClientGenerator(document, settings).GenerateFile());
        return new Generated(assembly, Activator.CreateInstance(assembly.GetType("Generated.ChapterClient")!, http)!);
    }

    [Fact]
    public async Task A_client_generated_from_the_document_compiles_and_takes_a_referral_through_its_lifecycle()
    {
        var chapterId = $"gen-{Guid.NewGuid():N}"[..20];
        var asOperator = await GenerateAsync(api.Operator());

        await asOperator.CallAsync("CreateChapter", asOperator.New("CreateChapterRequest",
            ("Id", chapterId), ("Name", "Stockholm City"), ("TimeZone", "Europe/Stockholm"), ("Currency", "SEK")));
        async Task<(Guid Id, Generated Client)> MemberAsync(string name)
        {
            var member = await asOperator.CallAsync("AddMember", chapterId, asOperator.New("AddMemberRequest",
                ("Name", name), ("Profession", "Accountant"), ("Languages", new List<string> { "sv" })));
            var id = (Guid)Generated.Read(member!, "Id")!;
            var issued = await asOperator.CallAsync("IssueMemberToken", chapterId, id, asOperator.New("IssueTokenRequest", ("Label", "generated client")));
            return (id, await GenerateAsync(api.ClientWith((string)Generated.Read(issued!, "Token")!)));
        }
        var (anna, asAnna) = await MemberAsync("Anna");
        var (bram, asBram) = await MemberAsync("Bram");

        var given = await asAnna.CallAsync("GiveReferral", chapterId, asAnna.New("GiveReferralRequest",
            ("ReceiverId", bram), ("Need", "New office lease"), ("Temperature", "warm"), ("Language", "sv"),
            ("Prospect", asAnna.New("ProspectRequest", ("Name", "Sara Lind"), ("Email", "sara@example.se"), ("Consent", true)))));
        var referral = (Guid)Generated.Read(given!, "Id")!;
        Generated.Read(given!, "GiverId").ShouldBe(anna);
        Generated.Read(given!, "Temperature")!.ToString().ShouldBe("Warm");

        await asBram.CallAsync("AcceptReferral", chapterId, referral, asBram.New("AcceptReferralRequest"));
        var closed = await asBram.CallAsync("CloseReferral", chapterId, referral, asBram.New("CloseReferralRequest",
            ("Outcome", "won"), ("Value", asBram.New("MoneyRequest", ("Amount", 12000.5), ("Currency", "SEK")))));
        Generated.Read(closed!, "Outcome")!.ToString().ShouldBe("Won");
        var thanked = await asBram.CallAsync("ThankGiver", chapterId, referral, asBram.New("ThankGiverRequest", ("Note", "Signed. Thank you, Anna!")));
        Generated.Read(thanked!, "Status").ShouldBe("thanked");

        var read = await asAnna.CallAsync("GetReferral", chapterId, referral);
        Generated.Read(read!, "ThankNote").ShouldBe("Signed. Thank you, Anna!");
        Generated.Read(Generated.Read(read!, "Value")!, "Amount").ShouldBe(12000.5);
        var list = await asAnna.CallAsync("ListReferrals", chapterId, null, null, null, null);
        ((System.Collections.ICollection)Generated.Read(list!, "Items")!).Count.ShouldBe(1);
    }
}
