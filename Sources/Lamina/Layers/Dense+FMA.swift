import CLaminaKernels

/// Dense forward and backward for small widths by the AVX2/FMA kernels of
/// `CLaminaKernels/dense.h`, instead of sgemm.
///
/// Why: at small widths sgemm's packing and per-call overhead, plus separate passes for the
/// bias broadcast, relu and the bias column sums, cost more than the arithmetic
/// (bench/NOTES.md, "Small-width Dense kernels"). Here the weights (at most
/// `Dense.fmaMaxWidth`^2 floats) are transposed once per call into a scratch that stays in L1,
/// the product runs in register tiles with the bias as the accumulators' start and relu
/// written from the same registers, and the weight and bias gradients are one pass over
/// the rows.
///
/// Threads and determinism: forward rows are independent (any split gives the same bits).
/// The weight and bias gradients are summed per fixed block of `RowPlan.gradientBlockRows(n)` rows
/// (in chunks of `gradientChunkRows`, which stay in L1), and the blocks' sums are added to
/// the gradient in block order, so the bits depend on the shape only, not on the number of
/// cores. The gradient blocks and the input gradient's row blocks run as one pool job.
///
/// Results differ from the sgemm path only by float rounding (summation order, fused
/// multiply-adds).
extension Dense {
  /// Scratch for the packed weights and the gradient blocks' partial sums, lent per call:
  /// steady-state steps allocate nothing (a temporary allocation above 1 KB may come from
  /// the heap), and concurrent forward passes each get their own buffer. Shared by every
  /// layer and borrowed on pool threads too (the row pipeline runs a decoder copy per task),
  /// so its buffers are kept in step, one per pool thread (at most 16 partial sums of a
  /// 128 x 128 layer, about 1 MB, each): timing then never decides whether a step allocates.
  static let fmaScratch = ScratchPool(perThread: 1)

  /// Bytes of x and dz per chunk of a gradient block: every register tile of the weight
  /// gradient passes over the chunk's rows, so they should stay in L1 (32 KB; bench/NOTES.md,
  /// "Work splitting").
  static let gradientChunkBytes = 24 << 10

  /// Rows per chunk of a gradient block for this layer's widths (a multiple of 8, 16 to
  /// 256); each chunk's sums are added to the block's, so this fixes the summation order
  /// and depends on the shape only.
  var gradientChunkRows: Int {
    let rowBytes = (inputDim + outputDim) * MemoryLayout<Float>.size
    return min(256, max(16, (Dense.gradientChunkBytes / rowBytes) & ~7))
  }

  // MARK: - Forward

  /// z = x W^T + b for `n` rows; with `activation`, also a = activation(z) into `a` (relu
  /// written from the product's registers, others by the activation over each block).
  /// `dot`: dot products along the inputs (`ForwardPath.kernelDot`) instead of register
  /// tiles over packed W^T (`ForwardPath.kernelTiles`).
  func forwardFMA(
    _ x: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>, count n: Int, dot: Bool,
    then activation: (any FusableActivation)?, _ a: UnsafeMutablePointer<Float>?
  ) {
    let (inp, out) = (inputDim, outputDim)
    // W^T padded to whole vectors of outputs, then the bias padded the same way.
    let ldb = (out + 7) & ~7
    let packed = dot ? 0 : inp * ldb + ldb
    var relu = false
    if let activation, case .relu = activation.activation { relu = true }
    let plan = RowPlan.kernelRowBlocks(rows: n, rowWork: inp * out)
    weight.value.withUnsafeBufferPointer { wb in
      let w = wb.baseAddress!
      withBiasPointer { b in
        Dense.fmaScratch.withBuffer(count: max(packed, 1)) { s in
          var packedBias: UnsafePointer<Float>? = nil
          if !dot {
            for k in 0..<inp {
              let row = s + k * ldb
              for j in 0..<out { row[j] = w[j * inp + k] }
              for j in out..<ldb { row[j] = 0 }
            }
            if let b {
              let pb = s + inp * ldb
              pb.update(from: b, count: out)
              for j in out..<ldb { pb[j] = 0 }
              packedBias = UnsafePointer(pb)
            }
          }
          var job = FMAForwardBlocks(
            x: x, z: z, w: dot ? w : UnsafePointer(s), ldb: dot ? inp : ldb,
            bias: dot ? b : packedBias, dot: dot, relu: relu,
            activation: relu ? nil : activation, a: a, inp: inp, out: out, m: n, size: plan.size)
          // One block runs on the calling thread (the pool does that itself).
          Parallel.run(plan.blocks, &job)
        }
      }
    }
  }

  /// The forward pass over blocks of `size` rows, as a pool job.
  private struct FMAForwardBlocks: PoolJob {
    let x: UnsafePointer<Float>
    let z: UnsafeMutablePointer<Float>
    /// W as stored (`dot`) or W^T packed with row stride `ldb`.
    let w: UnsafePointer<Float>
    let ldb: Int
    /// The bias (padded to `ldb` unless `dot`), or nil.
    let bias: UnsafePointer<Float>?
    let dot: Bool
    let relu: Bool
    /// A non-relu activation to run over each block after its product.
    let activation: (any FusableActivation)?
    let a: UnsafeMutablePointer<Float>?
    let inp: Int
    let out: Int
    let m: Int
    let size: Int

    /// Block `block`: its rows' product, bias and activation.
    func run(_ block: Int) {
      let start = block * size
      let rows = min(size, m - start)
      guard rows > 0 else { return }
      let zb = z + start * out
      let ab = a.map { $0 + start * out }
      let act = relu ? ab : nil
      if dot {
        lamina_dense_dot_fma(rows, inp, out, x + start * inp, inp, w, ldb, bias, zb, out, act)
      } else {
        lamina_dense_rows_fma(rows, inp, out, x + start * inp, inp, w, ldb, bias, zb, out, act)
      }
      if let activation, let ab { activation.forward(zb, ab, count: rows) }
    }
  }

  // MARK: - Backward

  /// Given dz (n x outputDim): dx = dz W when `dx` is non-nil, and with
  /// `parameterGradients`, dW += dz^T x and db += column sums of dz. `dz` must not overlap
  /// `dx`.
  func backwardFMA(
    _ x: UnsafePointer<Float>, _ dz: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>?,
    count n: Int, parameterGradients: Bool
  ) {
    guard n > 0, parameterGradients || dx != nil else { return }
    let (inp, out) = (inputDim, outputDim)
    // With fewer inputs than a vector, the gradient is summed as dW^T (vectors along the
    // outputs) and added transposed.
    let transposed = inp < 8
    let blockRows = RowPlan.gradientBlockRows(n)
    let gradientBlocks = parameterGradients ? (n + blockRows - 1) / blockRows : 0
    // One block straight into the gradient; otherwise (or transposed) one partial sum per
    // block, [dW or dW^T, db], added in block order afterwards.
    let direct = gradientBlocks == 1 && !transposed
    let area = inp * out + out
    let partialCount = parameterGradients && !direct ? gradientBlocks * area : 0
    // W padded to whole vectors of inputs for dx, unless its rows already are.
    let ldw = (inp + 7) & ~7
    let packCount = dx != nil && ldw != inp ? out * ldw : 0
    let dxPlan =
      dx != nil ? RowPlan.kernelRowBlocks(rows: n, rowWork: inp * out) : (blocks: 0, size: 1)
    let tasks = gradientBlocks + dxPlan.blocks
    let hasBias = bias != nil

    weight.value.withUnsafeBufferPointer { wb in
      withGradients(parameterGradients) { gw, gb in
        Dense.fmaScratch.withBuffer(count: max(1, partialCount + packCount)) { s in
          var w = wb.baseAddress!
          if packCount > 0 {
            let p = s + partialCount
            for j in 0..<out {
              let row = p + j * ldw
              row.update(from: w + j * inp, count: inp)
              for k in inp..<ldw { row[k] = 0 }
            }
            w = UnsafePointer(p)
          }
          var job = FMABackwardJob(
            x: x, dz: dz, dx: dx, w: w, ldw: ldw == inp || packCount > 0 ? ldw : inp,
            gradient: gw, biasGradient: hasBias ? gb : nil,
            partials: direct ? nil : s, transposed: transposed, inp: inp, out: out, m: n,
            gradientBlocks: gradientBlocks, blockRows: blockRows, chunkRows: gradientChunkRows,
            dxSize: dxPlan.size)
          let work = Double(n) * Double(inp * out) * (dx != nil && parameterGradients ? 2 : 1)
          if tasks > 1 && work >= Double(RowPlan.kernelSplitWork) {
            Parallel.run(tasks, &job)
          } else {
            for t in 0..<tasks { job.run(t) }
          }
          if partialCount > 0, let gw {
            Dense.addPartials(
              s, blocks: gradientBlocks, transposed: transposed, inp: inp, out: out,
              gradient: gw, biasGradient: hasBias ? gb : nil)
          }
        }
      }
    }
  }

  /// Adds the blocks' partial sums ([dW or dW^T, db] each) to the gradients, block by block
  /// in order.
  private static func addPartials(
    _ partials: UnsafePointer<Float>, blocks: Int, transposed: Bool, inp: Int, out: Int,
    gradient g: UnsafeMutablePointer<Float>, biasGradient gb: UnsafeMutablePointer<Float>?
  ) {
    let area = inp * out + out
    for block in 0..<blocks {
      let p = partials + block * area
      if transposed {
        for j in 0..<out {
          let gj = g + j * inp
          for k in 0..<inp { gj[k] += p[k * out + j] }
        }
      } else {
        for i in 0..<(inp * out) { g[i] += p[i] }
      }
      if let gb {
        let pb = p + inp * out
        for j in 0..<out { gb[j] += pb[j] }
      }
    }
  }

  /// The backward pass as one pool job: tasks 0 ..< gradientBlocks sum the parameter
  /// gradients of one fixed block of rows each, the rest compute dx for blocks of `dxSize`
  /// rows.
  private struct FMABackwardJob: PoolJob {
    let x: UnsafePointer<Float>
    let dz: UnsafePointer<Float>
    let dx: UnsafeMutablePointer<Float>?
    /// W, rows padded to `ldw` floats.
    let w: UnsafePointer<Float>
    let ldw: Int
    /// dW, or nil when the call computes no parameter gradients (then there are no
    /// gradient tasks).
    let gradient: UnsafeMutablePointer<Float>?
    let biasGradient: UnsafeMutablePointer<Float>?
    /// Per-block partial sums, or nil to add the one block's sums to the gradients.
    let partials: UnsafeMutablePointer<Float>?
    let transposed: Bool
    let inp: Int
    let out: Int
    let m: Int
    let gradientBlocks: Int
    /// Rows per gradient block (`RowPlan.gradientBlockRows`).
    let blockRows: Int
    /// Rows per chunk of a gradient block (`gradientChunkRows`).
    let chunkRows: Int
    let dxSize: Int

    /// Task `index`: a gradient block's sums, or a row block of dx.
    func run(_ index: Int) {
      if index < gradientBlocks {
        runGradient(index)
      } else if let dx {
        let start = (index - gradientBlocks) * dxSize
        let rows = min(dxSize, m - start)
        guard rows > 0 else { return }
        lamina_dense_rows_fma(
          rows, out, inp, dz + start * out, out, w, ldw, nil, dx + start * inp, inp, nil)
      }
    }

    /// dW and db over rows of block `block`, chunk by chunk.
    private func runGradient(_ block: Int) {
      let start = block * blockRows
      let end = min(m, start + blockRows)
      let area = inp * out + out
      let (g, gb): (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>?)
      if let partials {
        let p = partials + block * area
        (g, gb) = (p, biasGradient == nil ? nil : p + inp * out)
      } else if let gradient {
        (g, gb) = (gradient, biasGradient)
      } else {
        return
      }
      // Straight into the gradients every chunk adds; into a partial the first one stores.
      var accumulate: Int32 = partials == nil ? 1 : 0
      var r = start
      while r < end {
        let rows = min(chunkRows, end - r)
        let (xr, dzr) = (x + r * inp, dz + r * out)
        if transposed {
          lamina_dense_outer_fma(rows, inp, out, xr, inp, dzr, out, g, out, accumulate)
        } else {
          lamina_dense_outer_fma(rows, out, inp, dzr, out, xr, inp, g, inp, accumulate)
        }
        if let gb { lamina_dense_colsum_fma(rows, out, dzr, out, gb, accumulate) }
        accumulate = 1
        r += rows
      }
    }
  }

  /// Calls `body` with the weight and bias gradients (nil for a layer without bias), or
  /// with nil for both when `wanted` is false: a pass without parameter gradients (an input
  /// gradient, which several threads may take of one model at once) must not touch the
  /// gradient arrays, since even taking their mutable storage writes to them.
  @inline(__always)
  fileprivate func withGradients(
    _ wanted: Bool,
    _ body: (UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) -> Void
  ) {
    guard wanted else { return body(nil, nil) }
    weight.gradient.withUnsafeMutableBufferPointer { gw in
      if let bias {
        bias.gradient.withUnsafeMutableBufferPointer { body(gw.baseAddress!, $0.baseAddress!) }
      } else {
        body(gw.baseAddress!, nil)
      }
    }
  }
}
