using RuleDsl.Runtime.Kernels;
using RuleDsl.Runtime.Kernels.Compiler;

namespace RuleDsl.Runtime.Engine.Recurrent;

/// <summary>
/// The recurrent and input weights laid out for a trial's products (<see cref="PackedMatrices{T}"/>: W in
/// tiles of four rows, W_in by columns), in the run's precision, so that the learner needs no type parameter.
/// W changes only between trials (the weight update) and W_in not at all, so the learner packs them at the
/// start of each trial, makes the copies this thread's current ones for the steps, and releases them
/// before the update: every W·r and W_in·u of the steps reads a copy, with the same sums (bit-identical).
/// </summary>
abstract class PackedWeights
{
    /// <summary>Packs W and W_in and makes the copies this thread's current ones (nothing allocated after the
    /// first trial).</summary>
    public abstract void Use(Tensor w, Tensor win);
    /// <summary>No current copies on this thread.</summary>
    public abstract void Release();

    /// <summary>Copies in this precision, or null where the machine has no 512-bit vectors.</summary>
    public static PackedWeights? Of(RuleDsl.Syntax.Precision precision) =>
        precision.IsFloat32 ? Typed<float>.Make() : Typed<double>.Make();

    sealed class Typed<T> : PackedWeights where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        readonly PackedMatrices<T> _copies = new();

        public static PackedWeights? Make() => PackedMatrices<T>.Supported ? new Typed<T>() : null;

        public override void Use(Tensor w, Tensor win)
        {
            _copies.Pack(Storage(w), w.Rows, w.Cols);
            _copies.Pack(Storage(win), win.Rows, win.Cols);
            PackedMatrices<T>.Current = _copies;
        }

        public override void Release() => PackedMatrices<T>.Current = null;

        static T[] Storage(Tensor m) => (m.Doubles as T[]) ?? (m.Singles as T[]) ?? throw new InvalidOperationException("tensor precision differs from the copies'");
    }
}
