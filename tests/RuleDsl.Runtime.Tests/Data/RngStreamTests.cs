using RuleDsl.Runtime.Data;

namespace RuleDsl.Runtime.Tests.Data;

/// <summary>
/// The first numbers of every stream kind for two seeds. The values were read from the two generators the
/// runtime had before they were merged (Data/Rng with Rng.For paths, Tasks/Cognitive/TaskRng with numbered
/// streams), so recorded results keep their numbers.
/// </summary>
public class RngStreamTests
{
    public static TheoryData<StreamKind, ulong, int[], ulong[]> Pinned => new()
    {
        { StreamKind.DataEpisode, 0, [3], [0x53DFF3D6D07C1C2EUL, 0x38802842A602B05BUL, 0xD8E4D0EC691E00CAUL] },
        { StreamKind.DataEpisode, 42, [3], [0xF00F061D6A205496UL, 0x9C3DEAAFE1CD38DDUL, 0xAA6B0126E06055BBUL] },
        { StreamKind.Bootstrap, 0, [3], [0x53DFF3D6D07C1C2EUL, 0x38802842A602B05BUL, 0xD8E4D0EC691E00CAUL] },
        { StreamKind.Bootstrap, 42, [3], [0xF00F061D6A205496UL, 0x9C3DEAAFE1CD38DDUL, 0xAA6B0126E06055BBUL] },
        { StreamKind.FeedforwardWeights, 0, [3], [0x062211305F7A7601UL, 0x7D0E507CBB4D1312UL, 0x8BE74F1F8B7F4805UL] },
        { StreamKind.FeedforwardWeights, 42, [3], [0xAA7A15B0A7FA54BFUL, 0xAD79C666D6BB16F6UL, 0x1AF78BE8A3A9874DUL] },
        { StreamKind.Directions, 0, [3], [0x547771D4ED4E2A0BUL, 0x67239D6819315A24UL, 0xA914C31A4A88146AUL] },
        { StreamKind.Directions, 42, [3], [0x7591AF3A73F53DB8UL, 0x3A36F16B9FCFF469UL, 0xB768F0AFAD293FABUL] },
        { StreamKind.RecurrentWeights, 0, [3], [0x0A432C9ACB8C0585UL, 0xDFB373C30790CEB3UL, 0x298413CB81110673UL] },
        { StreamKind.RecurrentWeights, 42, [3], [0xD64D7E22F84A17CEUL, 0x931D66728F054C55UL, 0x3D8CFF2CBA25A160UL] },
        { StreamKind.RecurrentTrial, 0, [3, 5], [0x94319447B24308E8UL, 0x35B93DB09F3ED278UL, 0xA34368812E940450UL] },
        { StreamKind.RecurrentTrial, 42, [3, 5], [0xF1AB236EDABD9215UL, 0xDDA43152526317B9UL, 0x74D9FF287A69DEF6UL] },
        { StreamKind.TestTrial, 0, [3], [0xE1FDA507031EDD07UL, 0x326D32AB4F6199E0UL, 0x54C68B93CAFBD4E2UL] },
        { StreamKind.TestTrial, 42, [3], [0x059FC4C5985DD3F8UL, 0xA7E741642EEB5EA3UL, 0xD5C2DA17E24AEE4AUL] },
        { StreamKind.TaskTrial, 0, [3, 5], [0xCE5E64DEEED564C9UL, 0x41DB6145E7344EF8UL, 0x112C56CCF5F05DF9UL] },
        { StreamKind.TaskTrial, 42, [3, 5], [0xFEE009DFD80A37ACUL, 0x84A384A7BB46EDD1UL, 0x229A27738CAFD149UL] },
        // Task trial 0 of episode 0 is the old TaskRng(seed) the task tests draw from.
        { StreamKind.TaskTrial, 0, [0, 0], [0x77F4592F11631C02UL, 0xF30554EE76F8D52FUL, 0xD3251E8B0B1DA012UL] },
        { StreamKind.TaskTrial, 42, [0, 0], [0x5797A21A4E7E3134UL, 0x88E3505D82BF63BFUL, 0xFC80DC5C0E482669UL] },
        { StreamKind.FixedPointStarts, 0, [], [0x09710D7CF33D3D04UL, 0xD01807D21F5C420CUL, 0x56E3E4080CE3177EUL] },
        { StreamKind.FixedPointStarts, 42, [], [0xC2A9741743E48C4BUL, 0xA10239DD7B1C947DUL, 0xCE655305A2F9E777UL] },
    };

    [Theory, MemberData(nameof(Pinned))]
    public void Each_stream_kind_starts_with_its_recorded_numbers(StreamKind kind, ulong seed, int[] indices, ulong[] expected)
    {
        var r = Rng.Stream(kind, seed, indices);
        ulong[] first = [r.NextUInt64(), r.NextUInt64(), r.NextUInt64()];
        Assert.Equal(expected, first);
    }

    [Theory, MemberData(nameof(Pinned))]
    public void A_restarted_generator_starts_each_stream_with_its_recorded_numbers(StreamKind kind, ulong seed, int[] indices, ulong[] expected)
    {
        // A generator already used, with a Box–Muller spare pending: the restart must forget both.
        var r = new Rng(7);
        r.NextUInt64();
        r.Normal();
        r.Restart(kind, seed, indices);
        ulong[] first = [r.NextUInt64(), r.NextUInt64(), r.NextUInt64()];
        Assert.Equal(expected, first);
        var fresh = Rng.Stream(kind, seed, indices);
        r.Restart(kind, seed, indices);
        Assert.Equal(fresh.Normal(), r.Normal());
        Assert.Equal(fresh.Normal(), r.Normal());
    }

    [Fact]
    public void Every_stream_kind_is_pinned()
    {
        var pinned = Pinned.Select(row => (StreamKind)row[0]).ToHashSet();
        Assert.Equal(Enum.GetValues<StreamKind>().ToHashSet(), pinned);
    }

    [Fact]
    public void A_plain_seed_is_pinned()
    {
        var r0 = new Rng(0);
        Assert.Equal(0x99EC5F36CB75F2B4UL, r0.NextUInt64());
        Assert.Equal(0xBF6E1F784956452AUL, r0.NextUInt64());
        var r42 = new Rng(42);
        Assert.Equal(0x15780B2E0C2EC716UL, r42.NextUInt64());
        Assert.Equal(0x6104D9866D113A7EUL, r42.NextUInt64());
    }

    [Fact]
    public void Normal_keeps_the_pair_and_NormalFresh_draws_two_new_uniforms()
    {
        var a = Rng.Stream(StreamKind.RecurrentWeights, 0, 3);
        Assert.Equal(0.2007800941271462, a.Normal());
        Assert.Equal(-0.20374895738380236, a.Normal());
        var b = Rng.Stream(StreamKind.RecurrentWeights, 42, 3);
        Assert.Equal(-1.6992783691612847, b.Normal());
        Assert.Equal(-0.8613567443527315, b.Normal());
        var c = Rng.Stream(StreamKind.TaskTrial, 0, 3, 5);
        Assert.Equal(-0.08252794330141638, c.NormalFresh());
        Assert.Equal(0.09020928256314088, c.NormalFresh());
        var d = Rng.Stream(StreamKind.TaskTrial, 42, 3, 5);
        Assert.Equal(-3.273370989694455, d.NormalFresh());
        Assert.Equal(0.5203424688999844, d.NormalFresh());
    }

    [Fact]
    public void A_stream_takes_the_indices_its_kind_names()
    {
        Assert.Throws<ArgumentException>(() => Rng.Stream(StreamKind.TaskTrial, 0, 3));
        Assert.Throws<ArgumentException>(() => Rng.Stream(StreamKind.FixedPointStarts, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Rng.Stream(StreamKind.Directions, 0, -1));
    }
}
