using RuleDsl.Runtime.Data;
using RuleDsl.Runtime.Tasks.Cognitive;

namespace RuleDsl.Runtime.Tests.Data;

/// <summary>Phase 1: the values below are read from the generators as they are before the merge.</summary>
public class RngStreamTests
{
    static ulong[] First3(Func<ulong> next) => [next(), next(), next()];

    public static TheoryData<string, ulong, ulong[]> Pinned => new()
    {
        { "data", 0, [0x53DFF3D6D07C1C2EUL, 0x38802842A602B05BUL, 0xD8E4D0EC691E00CAUL] },
        { "data", 42, [0xF00F061D6A205496UL, 0x9C3DEAAFE1CD38DDUL, 0xAA6B0126E06055BBUL] },
        { "ffw", 0, [0x062211305F7A7601UL, 0x7D0E507CBB4D1312UL, 0x8BE74F1F8B7F4805UL] },
        { "ffw", 42, [0xAA7A15B0A7FA54BFUL, 0xAD79C666D6BB16F6UL, 0x1AF78BE8A3A9874DUL] },
        { "dir", 0, [0x547771D4ED4E2A0BUL, 0x67239D6819315A24UL, 0xA914C31A4A88146AUL] },
        { "dir", 42, [0x7591AF3A73F53DB8UL, 0x3A36F16B9FCFF469UL, 0xB768F0AFAD293FABUL] },
        { "recw", 0, [0x0A432C9ACB8C0585UL, 0xDFB373C30790CEB3UL, 0x298413CB81110673UL] },
        { "recw", 42, [0xD64D7E22F84A17CEUL, 0x931D66728F054C55UL, 0x3D8CFF2CBA25A160UL] },
        { "rect", 0, [0x94319447B24308E8UL, 0x35B93DB09F3ED278UL, 0xA34368812E940450UL] },
        { "rect", 42, [0xF1AB236EDABD9215UL, 0xDDA43152526317B9UL, 0x74D9FF287A69DEF6UL] },
        { "test", 0, [0xE1FDA507031EDD07UL, 0x326D32AB4F6199E0UL, 0x54C68B93CAFBD4E2UL] },
        { "test", 42, [0x059FC4C5985DD3F8UL, 0xA7E741642EEB5EA3UL, 0xD5C2DA17E24AEE4AUL] },
        { "task", 0, [0xCE5E64DEEED564C9UL, 0x41DB6145E7344EF8UL, 0x112C56CCF5F05DF9UL] },
        { "task", 42, [0xFEE009DFD80A37ACUL, 0x84A384A7BB46EDD1UL, 0x229A27738CAFD149UL] },
        { "fp", 0, [0x09710D7CF33D3D04UL, 0xD01807D21F5C420CUL, 0x56E3E4080CE3177EUL] },
        { "fp", 42, [0xC2A9741743E48C4BUL, 0xA10239DD7B1C947DUL, 0xCE655305A2F9E777UL] },
        { "boot", 0, [0x53DFF3D6D07C1C2EUL, 0x38802842A602B05BUL, 0xD8E4D0EC691E00CAUL] },
        { "boot", 42, [0xF00F061D6A205496UL, 0x9C3DEAAFE1CD38DDUL, 0xAA6B0126E06055BBUL] },
        { "plain", 0, [0x99EC5F36CB75F2B4UL, 0xBF6E1F784956452AUL, 0x1A5F849D4933E6E0UL] },
        { "plain", 42, [0x15780B2E0C2EC716UL, 0x6104D9866D113A7EUL, 0xAE17533239E499A1UL] },
        { "taskplain", 0, [0x77F4592F11631C02UL, 0xF30554EE76F8D52FUL, 0xD3251E8B0B1DA012UL] },
        { "taskplain", 42, [0x5797A21A4E7E3134UL, 0x88E3505D82BF63BFUL, 0xFC80DC5C0E482669UL] },
    };

    [Theory, MemberData(nameof(Pinned))]
    public void Old_streams(string kind, ulong seed, ulong[] expected)
    {
        Func<ulong> next = kind switch
        {
            "data" or "boot" => Rng.For(seed, 3UL).NextUInt64,
            "ffw" => Rng.For(seed, 0x3e1dUL, 3UL).NextUInt64,
            "dir" => Rng.For(seed, 0xd1UL, 3UL).NextUInt64,
            "recw" => Rng.For(seed, 0x1a7UL, 3UL).NextUInt64,
            "rect" => Rng.For(seed, 0x7015eUL, 3UL, 5UL).NextUInt64,
            "test" => Rng.For(seed, 0x7e57UL, 3UL).NextUInt64,
            "task" => new TaskRng(seed, (3UL << 20) + 5).NextUInt64,
            "fp" => new TaskRng(seed, 0xf1edUL).NextUInt64,
            "plain" => new Rng(seed).NextUInt64,
            _ => new TaskRng(seed).NextUInt64,
        };
        Assert.Equal(expected, First3(next));
    }

    [Fact]
    public void Old_normals()
    {
        var a = Rng.For(0, 0x1a7UL, 3UL);
        Assert.Equal(0.2007800941271462, a.Normal());
        Assert.Equal(-0.20374895738380236, a.Normal());
        var b = Rng.For(42, 0x1a7UL, 3UL);
        Assert.Equal(-1.6992783691612847, b.Normal());
        Assert.Equal(-0.8613567443527315, b.Normal());
        var c = new TaskRng(0, (3UL << 20) + 5);
        Assert.Equal(-0.08252794330141638, c.Gaussian());
        Assert.Equal(0.09020928256314088, c.Gaussian());
        var d = new TaskRng(42, (3UL << 20) + 5);
        Assert.Equal(-3.273370989694455, d.Gaussian());
        Assert.Equal(0.5203424688999844, d.Gaussian());
    }
}
