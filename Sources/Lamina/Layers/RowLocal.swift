/// A small row-local layer: each output row depends only on its input row, the layer keeps
/// nothing between passes, and its passes over a chunk whose work (`rowWork` x rows) stays
/// under `RowPlan.chunkWork` run whole on the calling thread. A run of such layers may
/// therefore be evaluated chunk by chunk on several threads, each chunk through its own
/// buffers (chunk-parallel prediction, `Model.parallelPredictRows`) or its own copy of the
/// layers (the row pipeline's tail, `RowPipeline`), with the results one thread gives for
/// the same chunks.
protocol RowLocal: Layer {
  /// The work of one row's forward pass in `RowPlan.chunkWork`'s units, which sizes the
  /// chunks. An elementwise activation that a product before it runs in its own pass
  /// (`FusableActivation`) reports 0: the product's figure already counts that pass.
  var rowWork: Int { get }
}
