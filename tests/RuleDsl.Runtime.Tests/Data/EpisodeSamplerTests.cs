using RuleDsl.Runtime.Data;

namespace RuleDsl.Runtime.Tests.Data;

public class EpisodeSamplerTests
{
    private static readonly Dataset Fashion = DataCatalog.ShippedFashionMnist();

    [Fact]
    public void Episode_has_M_classes_K_train_Q_query_disjoint_with_remapped_labels()
    {
        var s = new EpisodeSampler(Fashion, seed: 11);
        for (int e = 0; e < 20; e++)
        {
            var ep = s.Sample(e);
            Assert.Equal(5, ep.Classes.Length);
            Assert.Equal(5, ep.Classes.Distinct().Count());
            Assert.Equal(250, ep.Train.Length);
            Assert.Equal(50, ep.Query.Length);
            var trainIdx = ep.Train.Select(x => x.SourceIndex).ToHashSet();
            Assert.Equal(250, trainIdx.Count);
            Assert.Equal(50, ep.Query.Select(x => x.SourceIndex).Distinct().Count());
            Assert.DoesNotContain(ep.Query, q => trainIdx.Contains(q.SourceIndex));
            foreach (var x in ep.Train.Concat(ep.Query))
            {
                Assert.InRange(x.Label, 0, 4);
                Assert.Equal(ep.Classes[x.Label], Fashion.Labels[x.SourceIndex]);
                Assert.Same(Fashion.Images[x.SourceIndex], x.Image);
            }
            for (int m = 0; m < 5; m++)
            {
                Assert.Equal(50, ep.Train.Count(x => x.Label == m));
                Assert.Equal(10, ep.Query.Count(x => x.Label == m));
                Assert.Equal(Fashion.ClassNames[ep.Classes[m]], ep.ClassNames[m]);
            }
        }
    }

    [Fact]
    public void Training_order_is_shuffled_not_grouped_by_class()
    {
        var ep = new EpisodeSampler(Fashion, seed: 1).Sample(0);
        int changes = 0;
        for (int i = 1; i < ep.Train.Length; i++) if (ep.Train[i].Label != ep.Train[i - 1].Label) changes++;
        // Grouped order would change label 4 times; a random order of 5×50 about 200 times.
        Assert.True(changes > 150, $"{changes} label changes");
    }

    [Fact]
    public void Episodes_are_determined_by_seed_and_index_alone()
    {
        var a = new EpisodeSampler(Fashion, seed: 5);
        var b = new EpisodeSampler(Fashion, seed: 5);
        var late = b.Sample(7); // drawn first, out of order
        var early = b.Sample(3);
        Assert.Equal(Key(a.Sample(3)), Key(early));
        Assert.Equal(Key(a.Sample(7)), Key(late));
        Assert.NotEqual(Key(a.Sample(3)), Key(a.Sample(4)));
        Assert.NotEqual(Key(a.Sample(3)), Key(new EpisodeSampler(Fashion, seed: 6).Sample(3)));
    }

    [Fact]
    public void Sequence_is_pinned()
    {
        // Guards the documented determinism across versions: change only with a note in the results format.
        var ep = new EpisodeSampler(Fashion, seed: 0).Sample(0);
        Assert.Equal(PinnedClasses, ep.Classes);
        Assert.Equal(PinnedFirstTrain, ep.Train.Take(3).Select(x => x.SourceIndex));
    }

    // Recorded from the first run of this implementation (Rng.For(0, 0) stream).
    private static readonly int[] PinnedClasses = [9, 5, 3, 4, 1];
    private static readonly int[] PinnedFirstTrain = [569, 1076, 41];

    [Fact]
    public void Every_class_is_drawn_about_equally_often()
    {
        var s = new EpisodeSampler(Fashion, seed: 2, trainPerClass: 1, queryPerClass: 1);
        var counts = new int[10];
        for (int e = 0; e < 2000; e++) foreach (var c in s.Sample(e).Classes) counts[c]++;
        foreach (var c in counts) Assert.InRange(c, 1000 - 100, 1000 + 100); // sd ≈ 22
    }

    [Fact]
    public void Too_few_images_or_classes_is_a_clear_error()
    {
        var mnist = DataCatalog.ShippedMnist();
        Assert.Contains("needs 61 per class", Assert.Throws<DataException>(() => new EpisodeSampler(mnist, 0, 5, 51, 10)).Message);
        Assert.Contains("cannot draw 11 classes", Assert.Throws<DataException>(() => new EpisodeSampler(mnist, 0, ways: 11)).Message);
        var held = new EpisodeSampler(mnist, 0, ways: 2, classPool: [3, 8]);
        Assert.Equal([3, 8], held.Sample(0).Classes.Order());
    }

    private static string Key(Episode e) =>
        string.Join(",", e.Classes) + "|" + string.Join(",", e.Train.Select(x => x.SourceIndex)) + "|" + string.Join(",", e.Query.Select(x => x.SourceIndex));
}
