using System.Text.Json.Nodes;

namespace Chapter.Api.Tests;

/// <summary>
/// The OpenAPI document says what each field is, as client generators need: our converters for texts and enums hide that
/// from ASP.NET Core's schema generation, and its web defaults describe numbers as "a number or a string".
/// </summary>
public sealed class OpenApiDocumentTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task Texts_lists_of_texts_enums_and_numbers_have_their_types()
    {
        var document = JsonNode.Parse(await (await api.CreateClient().GetAsync("/openapi/v1.json")).Content.ReadAsStringAsync())!;
        document["openapi"]!.GetValue<string>().ShouldStartWith("3.0");
        var schemas = document["components"]!["schemas"]!;
        schemas["GiveReferralRequest"]!["properties"]!["need"]!["type"]!.GetValue<string>().ShouldBe("string");
        schemas["ProspectRequest"]!["properties"]!["name"]!["type"]!.GetValue<string>().ShouldBe("string");
        schemas["ProspectRequest"]!["properties"]!["name"]!["nullable"].ShouldBeNull("a required field is not null");
        schemas["ProspectRequest"]!["properties"]!["email"]!["nullable"]!.GetValue<bool>().ShouldBeTrue("an optional field may be sent as null");
        schemas["ProspectRequest"]!["required"]!.AsArray().Select(r => r!.GetValue<string>()).Order().ShouldBe(["consent", "name"]);
        schemas["AddMemberRequest"]!["required"]!.AsArray().Select(r => r!.GetValue<string>()).ShouldNotContain("role");
        schemas["AddMemberRequest"]!["properties"]!["role"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()).ShouldBe(["member", "leader"]);
        schemas["GiveReferralRequest"]!["properties"]!["temperature"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()).ShouldBe(["hot", "warm", "cold"]);
        schemas["AddMemberRequest"]!["properties"]!["languages"]!["items"]!["type"]!.GetValue<string>().ShouldBe("string");
        schemas["MemberView"]!["properties"]!["languages"]!["items"]!["type"]!.GetValue<string>().ShouldBe("string");
        schemas["MemberRole"]!["type"]!.GetValue<string>().ShouldBe("string");
        schemas["MemberRole"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()).ShouldBe(["member", "leader"]);
        schemas["ChapterView"]!["properties"]!["tieHalfLifeDays"]!["type"]!.GetValue<string>().ShouldBe("integer");
    }

    [Fact]
    public async Task Every_operation_declares_the_problems_it_may_answer_with()
    {
        var document = JsonNode.Parse(await (await api.CreateClient().GetAsync("/openapi/v1.json")).Content.ReadAsStringAsync())!;
        var missing = new List<string>();
        foreach (var (path, operations) in document["paths"]!.AsObject())
            foreach (var (method, operation) in operations!.AsObject())
            {
                var responses = operation!["responses"]!.AsObject();
                var anonymous = path.StartsWith("/api/signin", StringComparison.Ordinal);
                var expected = new List<string> { "503" };
                if (!anonymous)
                    expected.AddRange(["401", "403"]);
                if (path.Contains('{'))
                    expected.Add("404");
                if (method != "get")
                    expected.Add("400");
                foreach (var code in expected.Where(code => !responses.ContainsKey(code)))
                    missing.Add($"{method} {path}: {code}");
                foreach (var (code, response) in responses.Where(r => r.Key.StartsWith('4') || r.Key.StartsWith('5')))
                    if (response!["content"]?["application/problem+json"] is null)
                        missing.Add($"{method} {path}: {code} is not problem+json");
                responses.ShouldNotContainKey("IResult");
            }
        missing.ShouldBeEmpty();
    }
}
