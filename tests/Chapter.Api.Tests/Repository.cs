namespace Chapter.Api.Tests;

/// <summary>The checkout the tests were built from: README.md, the generated code, the TypeScript client.</summary>
public static class Repository
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Chapter.sln")))
                return directory.FullName;
        throw new DirectoryNotFoundException("No Chapter.sln above the test's folder.");
    }
}
