using System.Globalization;
using RuleDsl.Runtime.Results;

namespace RuleDsl.Runtime.Tests.Results;

public class GradientNotesTests
{
    /// An episodes.csv with two trials of 300 episodes: θ steps 1e-3 an episode with gradient norms
    /// around 10, except that trial 1 has a 1e9 gradient at episode 50 after which θ steps 1e-7.
    static CsvTable Episodes(bool spike)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory().FullName, "episodes.csv");
        var lines = new List<string> { "trial,episode,theta0,grad_norm,failure" };
        for (int t = 0; t < 2; t++)
        {
            double theta = 0;
            for (int e = 0; e < 300; e++)
            {
                bool stalled = spike && t == 1 && e > 50;
                theta += stalled ? 1e-7 : 1e-3;
                double norm = spike && t == 1 && e == 50 ? 1e9 : 10 + e % 7;
                string failure = e == 7 ? "weights exploded" : "";
                lines.Add(string.Create(CultureInfo.InvariantCulture, $"{t},{e},{theta},{(failure == "" ? norm : 1e12)},{failure}"));
            }
        }
        File.WriteAllLines(path, lines);
        return CsvTable.Read(path);
    }

    [Fact]
    public void A_gradient_spike_that_stalls_theta_is_named_with_its_trial_episode_and_the_remedy()
    {
        var notes = GradientNotes.Of(Episodes(spike: true), ["theta0"], clip: 0);
        var note = Assert.Single(notes);                         // trial 0 is fine; its failed row is not a spike
        Assert.StartsWith("trial 1: a meta-gradient of norm 1E+09 at episode 50", note);
        Assert.Contains("0.0001 times as far", note);            // 1e-7 against a median step of 1e-3
        Assert.Contains("set `clip`", note);
    }

    [Fact]
    public void Without_spikes_there_is_nothing_to_say_and_with_clip_it_counts_the_clipped_steps()
    {
        Assert.Empty(GradientNotes.Of(Episodes(spike: false), ["theta0"], clip: 0));
        var clipped = Assert.Single(GradientNotes.Of(Episodes(spike: true), ["theta0"], clip: 14));
        // Norms 10 + e % 7 exceed 14 when e % 7 = 5 or 6; plus the spike; failed rows are not counted.
        int expected = 2 * Enumerable.Range(0, 300).Count(e => e != 7 && e % 7 >= 5) + 1;
        Assert.Equal($"the meta-gradient was clipped to norm 14 in {expected} of 598 meta-steps", clipped);
    }

    /// Three trials of 41 episodes over two θ: theta0 falls in every trial (agreeing downwards counts); theta1 rises or falls by a
    /// fixed pattern per trial that agrees in all three exactly on the episodes divisible by 4; theta2 rises in trial 0 and
    /// falls in the others, so never agrees.
    static CsvTable Agreeing(bool still = false)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory().FullName, "episodes.csv");
        var lines = new List<string> { "trial,episode,theta0,theta1,theta2" };
        for (int t = 0; t < 3; t++)
        {
            double a = 0, b = 0, c = 0;
            for (int e = 0; e <= 40; e++)
            {
                if (e > 0 && !still)
                {
                    a -= 0.01;
                    b += e % 4 == 0 ? 0.01 : (e + t) % 2 == 0 ? 0.01 : -0.01;
                    c += t == 0 ? 0.01 : -0.01;
                }
                lines.Add(string.Create(CultureInfo.InvariantCulture, $"{t},{e},{a},{b},{c}"));
            }
        }
        // A replayed episode (crash between row and checkpoint) is the same row twice; counted once.
        lines.Add(lines[^1]);
        File.WriteAllLines(path, lines);
        return CsvTable.Read(path);
    }

    [Fact]
    public void Trial_agreement_counts_the_steps_every_trial_took_the_same_way_against_chance()
    {
        var note = Assert.Single(GradientNotes.Agreement(Agreeing(), ["theta0", "theta1"]));
        // 40 of 40 at 25 % is far above chance; 10 of 40 is chance itself.
        Assert.Equal("all 3 trials moved θ the same way in (of 40 meta-steps; 25 % by chance): theta0 40, theta1 10"
            + " — theta0: more often than chance, moved by its meta-gradient more than by noise; theta1: near chance, moved by noise more than by its meta-gradient", note);
        var all = Assert.Single(GradientNotes.Agreement(Agreeing(), ["theta0", "theta1", "theta2"]));
        Assert.EndsWith("theta2: less often than chance, the trials move it against each other (to one value from opposite sides, or apart: compare their final θ)", all);
        Assert.Empty(GradientNotes.Agreement(Agreeing(still: true), ["theta0", "theta1"]));   // lr = 0: nothing moved
    }
}
