/// Jet passes for KAN layers, shared by every basis: a KAN layer computes
/// y_j = sum_i phi_ij(x_i), so its output jet needs only each edge's derivatives,
///
///     J'_j = sum_i phi'_ij(x_i) J_i
///     H'_j = sum_i phi''_ij(x_i) J_i^2 + phi'_ij(x_i) H_i
///
/// per input direction (J the first derivative stream, H the pure second one). This file
/// does that contraction and its adjoint once for all bases; a basis (`KANEdgeJet`) gives
/// only its edge derivatives on a block of rows and the parameter gradients of them.
///
/// The value stream is the layer's own `forward` (so stream 0 is `forward`'s to the bit)
/// and its adjoint the layer's own `backward`; the derivative streams add, for edge (i, j)
/// at x = x_ri, the adjoints of phi' and phi'',
///
///     a1 = sum_d gJ_j J_i + gH_j H_i,   a2 = sum_d gH_j J_i^2
///
/// (g the output jet's adjoint), which give dL/dx_ri += sum_j a1 phi''_ij + a2 phi'''_ij,
/// dL/dJ_i = sum_j gJ_j phi'_ij + 2 gH_j phi''_ij J_i, dL/dH_i = sum_j gH_j phi'_ij, and
/// dL/dtheta = sum a1 dphi'/dtheta + a2 dphi''/dtheta (`addEdgeDerivativeGradients`).
///
/// Cost, for n rows, D directions, order q: the value passes, plus per block of rows and
/// input one call of the basis for the q (forward) or q + 1 (backward) derivative tables
/// of every output, O(n in out (basis work + q D)) in all. Calls into the basis are per
/// block and input, resolved at compile time for the concrete layer; the loops here are
/// over rows and outputs, with scratch from `ScratchPool`s (no allocation once warm).
///
/// Rows are cut into fixed tasks (`KANEdgeJetTasks`) that run on the worker pool when the
/// batch is large: rows are independent in the forward pass and in dx, and a basis that
/// keeps per-task gradient sums (`edgeJetSumCount` > 0) has them added in task order, so
/// the results do not depend on the thread count. A basis without such sums adds into its
/// parameters directly, and its backward with parameter gradients stays on the calling
/// thread.

/// A KAN layer that joins jet passes by giving its edges' derivatives (see the top of this
/// file). Each basis conforms in its own folder (`<Basis>KANLayer+Jet.swift`) with its edge
/// derivatives; `JetLayer`'s two methods come from the extension below.
protocol KANEdgeJet: JetLayer {
  /// Floats of scratch `edgeDerivatives` and `addEdgeDerivativeGradients` need for blocks
  /// of up to `rows` rows.
  func edgeJetScratchCount(rows: Int) -> Int

  /// phi^(p)_ij(x_r) for p = 1 ... `orders` (at most 3), every output j, the `count` values
  /// x_r = `column[r * stride]` of input i, into
  /// `table[((p - 1) * count + r) * outputDim + j]`. `scratch` holds
  /// `edgeJetScratchCount(rows: count)` floats. Reads the layer only.
  func edgeDerivatives(
    input i: Int, column: UnsafePointer<Float>, stride: Int, count: Int, orders: Int,
    into table: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>)

  /// Adds sum_r sum_j sum_{p=1...orders} adjoints[((p - 1) * count + r) * outputDim + j]
  /// * d phi^(p)_ij(x_r) / d theta into every parameter theta's gradient (`orders` 1 or 2;
  /// the rows as in `edgeDerivatives`).
  func addEdgeDerivativeGradients(
    input i: Int, column: UnsafePointer<Float>, stride: Int, count: Int, orders: Int,
    adjoints: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>)

  /// Doubles of one task's private gradient sums (`addEdgeDerivativeSums`), or 0 when the
  /// basis keeps none in its current state and adds into its parameters instead
  /// (`addEdgeDerivativeGradients`, on the calling thread only).
  func edgeJetSumCount() -> Int

  /// `addEdgeDerivativeGradients` into `sums` (`edgeJetSumCount()` Doubles, zeroed by the
  /// caller, in a layout of the basis's choosing) instead of the parameters; reads the
  /// layer only, so tasks on several threads may run it at once, each on sums of its own.
  /// Called right after `edgeDerivatives` of the same input and rows (at least `orders`
  /// orders) with the same `scratch`, so it may read per-row work that call left there.
  func addEdgeDerivativeSums(
    input i: Int, column: UnsafePointer<Float>, stride: Int, count: Int, orders: Int,
    adjoints: UnsafePointer<Float>, into sums: UnsafeMutablePointer<Double>,
    scratch: UnsafeMutablePointer<Float>)

  /// Adds the parameter gradients that the (reduced) `sums` stand for.
  func addEdgeJetSums(_ sums: UnsafePointer<Double>)
}

/// The scratch every KAN layer's jet passes borrow (each caller its own buffer).
enum KANEdgeJets {
  /// Per-call buffers taken on the calling thread (the tasks' gradient sums).
  static let scratch = ScratchPool()
  /// Per-task buffers, borrowed on whichever thread runs the task: kept in step for every
  /// pool thread, so a worker joining late never allocates.
  static let taskScratch = ScratchPool(perThread: 1)
  /// Rows per block: the derivative tables (3 x rows x out floats) stay small.
  static let blockRows = 128
}

extension KANEdgeJet {
  /// A basis without private sums (the default) adds into its parameters directly.
  func edgeJetSumCount() -> Int { 0 }

  /// Never called when `edgeJetSumCount()` is 0.
  func addEdgeDerivativeSums(
    input i: Int, column: UnsafePointer<Float>, stride: Int, count: Int, orders: Int,
    adjoints: UnsafePointer<Float>, into sums: UnsafeMutablePointer<Double>,
    scratch: UnsafeMutablePointer<Float>
  ) {
    preconditionFailure("addEdgeDerivativeSums on a basis whose edgeJetSumCount is 0")
  }

  /// Never called when `edgeJetSumCount()` is 0.
  func addEdgeJetSums(_ sums: UnsafePointer<Double>) {
    preconditionFailure("addEdgeJetSums on a basis whose edgeJetSumCount is 0")
  }

  /// The output jet: `forward` for the value stream, the edge derivatives contracted by
  /// `edgeJetForward` for the others. Reads the layer only.
  public func jetForward(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, shape: JetShape
  ) {
    edgeJetForward(x, y, shape: shape)
  }

  /// The input jet's adjoint and the parameter gradients (`edgeJetBackward`).
  public func jetBackward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, shape: JetShape, parameterGradients: Bool
  ) {
    edgeJetBackward(x, y, dy, dx, shape: shape, parameterGradients: parameterGradients)
  }

  /// `JetLayer.jetForward` from the edge derivatives (see the top of this file): the value
  /// pass, then the derivative streams in row tasks (`KANEdgeJetTasks`).
  func edgeJetForward(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, shape: JetShape
  ) {
    let n = shape.rows
    guard n > 0 else { return }
    forward(x, y, count: n)
    (y + n * outputDim).update(repeating: 0, count: (shape.streams - 1) * n * outputDim)
    var job = KANEdgeJetTasks.Forward(layer: self, x: x, y: y, shape: shape)
    KANEdgeJetTasks.run(&job, shape: shape, inputs: inputDim, outputs: outputDim, serial: false)
  }

  /// The derivative streams of rows `range` of the output jet (stream 0 and the zeroed
  /// others already written), in blocks of `KANEdgeJets.blockRows`.
  func edgeJetForwardRows(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, shape: JetShape,
    rows range: Range<Int>
  ) {
    let n = shape.rows
    let (nIn, nOut, dirs, order) = (inputDim, outputDim, shape.directions, shape.order)
    let rows = min(range.count, KANEdgeJets.blockRows)
    guard rows > 0 else { return }
    let tableCount = order * rows * nOut
    KANEdgeJets.taskScratch.withBuffer(count: tableCount + edgeJetScratchCount(rows: rows)) { s in
      let table = s
      let work = s + tableCount
      var start = range.lowerBound
      while start < range.upperBound {
        let m = min(rows, range.upperBound - start)
        for i in 0..<nIn {
          edgeDerivatives(
            input: i, column: x + start * nIn + i, stride: nIn, count: m, orders: order,
            into: table, scratch: work)
          for d in 0..<dirs {
            let j0 = x + ((1 + d) * n + start) * nIn + i
            let yj = y + ((1 + d) * n + start) * nOut
            let h0 = x + ((1 + dirs + d) * n + start) * nIn + i
            let yh = y + ((1 + dirs + d) * n + start) * nOut
            for r in 0..<m {
              let jv = j0[r * nIn]
              let hv: Float = order == 2 ? h0[r * nIn] : 0
              // The input layer's first-derivative streams are mostly zeros.
              if jv == 0 && hv == 0 { continue }
              let t1 = table + r * nOut
              let out = yj + r * nOut
              for j in 0..<nOut { out[j] += t1[j] * jv }
              if order == 2 {
                let t2 = table + (m + r) * nOut
                let outH = yh + r * nOut
                let jj = jv * jv
                for j in 0..<nOut { outH[j] += t2[j] * jj + t1[j] * hv }
              }
            }
          }
        }
        start += m
      }
    }
  }

  /// `JetLayer.jetBackward` from the edge derivatives (see the top of this file): the value
  /// stream's own backward, then the derivative streams in row tasks (`KANEdgeJetTasks`),
  /// whose private gradient sums are added in task order.
  func edgeJetBackward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, shape: JetShape, parameterGradients: Bool
  ) {
    let n = shape.rows
    guard n > 0, dx != nil || parameterGradients else { return }
    let nIn = inputDim
    // The value stream: the layer's own backward (dx's stream 0 overwritten).
    backward(x, y, dy, dx, count: n, parameterGradients: parameterGradients)
    if let dx { (dx + n * nIn).update(repeating: 0, count: (shape.streams - 1) * n * nIn) }
    let sumCount = parameterGradients ? edgeJetSumCount() : 0
    let tasks = KANEdgeJetTasks.count(rows: n)
    KANEdgeJets.scratch.withBuffers(doubles: tasks * sumCount, floats: 0) { sums, _ in
      var job = KANEdgeJetTasks.Backward(
        layer: self, x: x, dy: dy, dx: dx, shape: shape, parameterGradients: parameterGradients,
        sums: sumCount > 0 ? sums : nil, sumCount: sumCount)
      KANEdgeJetTasks.run(
        &job, shape: shape, inputs: nIn, outputs: outputDim,
        serial: parameterGradients && sumCount == 0)
      guard sumCount > 0 else { return }
      // In task order, whichever thread ran each task: the same bits on any core count.
      for t in 1..<max(tasks, 1) {
        let other = sums + t * sumCount
        for e in 0..<sumCount { sums[e] += other[e] }
      }
      addEdgeJetSums(sums)
    }
  }

  /// The derivative streams' part of `edgeJetBackward` for rows `range`: their dx (streams
  /// 1 ... written, stream 0 added to) and, with `parameterGradients`, their parameter
  /// gradients, into `sums` when non-nil, else into the parameters.
  func edgeJetBackwardRows(
    _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>?,
    shape: JetShape, parameterGradients: Bool, sums: UnsafeMutablePointer<Double>?,
    rows range: Range<Int>
  ) {
    let n = shape.rows
    let (nIn, nOut, dirs, order) = (inputDim, outputDim, shape.directions, shape.order)
    let orders = dx != nil ? order + 1 : order
    let rows = min(range.count, KANEdgeJets.blockRows)
    guard rows > 0 else { return }
    let tableCount = orders * rows * nOut
    let adjointCount = order * rows * nOut
    KANEdgeJets.taskScratch.withBuffer(
      count: tableCount + adjointCount + edgeJetScratchCount(rows: rows)
    ) { s in
      let table = s
      let adjoints = s + tableCount
      let work = adjoints + adjointCount
      var start = range.lowerBound
      while start < range.upperBound {
        let m = min(rows, range.upperBound - start)
        for i in 0..<nIn {
          let column = x + start * nIn + i
          edgeDerivatives(
            input: i, column: column, stride: nIn, count: m, orders: orders, into: table,
            scratch: work)
          adjoints.update(repeating: 0, count: order * m * nOut)
          for d in 0..<dirs {
            let jOffset = ((1 + d) * n + start) * nIn + i
            let hOffset = ((1 + dirs + d) * n + start) * nIn + i
            let gj = dy + ((1 + d) * n + start) * nOut
            let gh = dy + ((1 + dirs + d) * n + start) * nOut
            for r in 0..<m {
              let jv = x[jOffset + r * nIn]
              let t1 = table + r * nOut
              let a1 = adjoints + r * nOut
              let gjr = gj + r * nOut
              if order == 1 {
                var sj: Float = 0
                for j in 0..<nOut {
                  sj += gjr[j] * t1[j]
                  a1[j] += gjr[j] * jv
                }
                dx?[jOffset + r * nIn] = sj
                continue
              }
              let hv = x[hOffset + r * nIn]
              // The input layer's first-derivative streams are mostly zeros, and its input
              // jet has no adjoint to write.
              if dx == nil && jv == 0 && hv == 0 { continue }
              let t2 = table + (m + r) * nOut
              let a2 = adjoints + (m + r) * nOut
              let ghr = gh + r * nOut
              let (jj, twoJ) = (jv * jv, 2 * jv)
              var (sj, sh): (Float, Float) = (0, 0)
              for j in 0..<nOut {
                sj += gjr[j] * t1[j] + twoJ * ghr[j] * t2[j]
                sh += ghr[j] * t1[j]
                a1[j] += gjr[j] * jv + ghr[j] * hv
                a2[j] += ghr[j] * jj
              }
              dx?[jOffset + r * nIn] = sj
              dx?[hOffset + r * nIn] = sh
            }
          }
          if let dx {
            // dL/dx_ri += sum_j a1 phi'' + a2 phi'''.
            for r in 0..<m {
              let a1 = adjoints + r * nOut
              let t2 = table + (m + r) * nOut
              var v: Float = 0
              for j in 0..<nOut { v += a1[j] * t2[j] }
              if order == 2 {
                let a2 = adjoints + (m + r) * nOut
                let t3 = table + (2 * m + r) * nOut
                for j in 0..<nOut { v += a2[j] * t3[j] }
              }
              dx[(start + r) * nIn + i] += v
            }
          }
          if parameterGradients {
            if let sums {
              addEdgeDerivativeSums(
                input: i, column: column, stride: nIn, count: m, orders: order,
                adjoints: adjoints, into: sums, scratch: work)
            } else {
              addEdgeDerivativeGradients(
                input: i, column: column, stride: nIn, count: m, orders: order,
                adjoints: adjoints, scratch: work)
            }
          }
        }
        start += m
      }
    }
  }
}
