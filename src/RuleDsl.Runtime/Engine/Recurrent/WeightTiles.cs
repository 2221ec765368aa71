using RuleDsl.Runtime.Kernels;
using RuleDsl.Runtime.Kernels.Compiler;

namespace RuleDsl.Runtime.Engine.Recurrent;

/// <summary>
/// The recurrent weights in tiles of four rows for a trial's steps (<see cref="PackedRows{T}"/>), in the
/// run's precision, so that the learner needs no type parameter. W changes only between trials (the
/// weight update), so the learner packs it at the start of each trial, makes the copy this thread's
/// current one for the steps, and releases it before the update: every W·r of the steps reads the
/// copy, with the same sums (bit-identical).
/// </summary>
abstract class WeightTiles
{
    /// <summary>Packs <paramref name="w"/> and makes the copy this thread's current one.</summary>
    public abstract void Use(Tensor w);
    /// <summary>No current copy on this thread.</summary>
    public abstract void Release();

    /// <summary>Tiles for this precision, or null where the machine has no 512-bit vectors or W is too
    /// small for a tile (fewer than four rows or one vector of columns).</summary>
    public static WeightTiles? For(Tensor w) => w.Precision.IsFloat32 ? Typed<float>.Of(w) : Typed<double>.Of(w);

    sealed class Typed<T> : WeightTiles where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        readonly PackedRows<T> _tiles = new();

        public static WeightTiles? Of(Tensor w) =>
            PackedRows<T>.Supported && w.Rows >= 4 && w.Cols >= System.Runtime.Intrinsics.Vector512<T>.Count ? new Typed<T>() : null;

        public override void Use(Tensor w)
        {
            _tiles.Pack(Storage(w), w.Rows, w.Cols);
            PackedRows<T>.Current = _tiles;
        }

        public override void Release() => PackedRows<T>.Current = null;

        static T[] Storage(Tensor w) => (w.Doubles as T[]) ?? (w.Singles as T[]) ?? throw new InvalidOperationException("tensor precision differs from the tiles'");
    }
}
