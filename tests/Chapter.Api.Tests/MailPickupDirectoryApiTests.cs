using System.Net;
using System.Net.Http.Json;
using MimeKit;

namespace Chapter.Api.Tests;

/// <summary>Without an SMTP server (the embedded default), e-mails are written as .eml files, and the log says so once.</summary>
public sealed class MailPickupDirectoryApiTests(MailPickupDirectoryApiTests.Fixture fixture) : IClassFixture<MailPickupDirectoryApiTests.Fixture>
{
    public sealed class Fixture : IAsyncLifetime
    {
        public string Directory { get; } = Path.Combine(Path.GetTempPath(), $"chapter-mail-{Guid.NewGuid():N}");
        public ApiFixture Api { get; } = new();

        public Task InitializeAsync()
        {
            Api.Settings["Chapter:Mail:PickupDirectory"] = Directory;
            return Api.InitializeAsync();
        }

        public async Task DisposeAsync()
        {
            await ((IAsyncLifetime)Api).DisposeAsync();
            if (System.IO.Directory.Exists(Directory))
                System.IO.Directory.Delete(Directory, recursive: true);
        }
    }

    [Fact]
    public async Task Each_message_is_a_file_named_by_its_Message_ID()
    {
        var scenario = await new Scenario(fixture.Api).WithChapterAsync();
        var (anna, bram) = (await scenario.AddMemberAsync("Anna"), await scenario.AddMemberAsync("Bram", languages: ["nl"]));
        (await scenario.As(bram).PutAsJsonAsync($"/api/chapters/{scenario.ChapterId}/members/{bram}/notifications",
            new { email = "bram@example.nl", referralReceived = true, referralUpdates = true, weeklyDigest = true })).StatusCode.ShouldBe(HttpStatusCode.OK);

        await scenario.GiveAsync(anna, bram);
        await scenario.GiveAsync(anna, bram);

        var until = DateTime.UtcNow.AddSeconds(20);
        while ((!Directory.Exists(fixture.Directory) || Directory.GetFiles(fixture.Directory, "*.eml").Length < 2) && DateTime.UtcNow < until)
            await Task.Delay(50);
        var files = Directory.GetFiles(fixture.Directory, "*.eml");
        files.Length.ShouldBe(2);
        foreach (var file in files)
        {
            var mail = await MimeMessage.LoadAsync(file);
            mail.Subject.ShouldBe("Anna heeft je een referral gegeven");
            Path.GetFileNameWithoutExtension(file).ShouldBe(mail.MessageId!.Replace('@', '_'));
        }
        fixture.Api.Logs.Lines.Count(l => l.Contains("e-mails are written as .eml files")).ShouldBe(1);
    }
}
