import Foundation
import XCTest

@testable import Lamina

/// Tri-plane encodings and the "triplane" model kind: PyTorch `grid_sample` agreement,
/// aggregations, gradients, determinism, upsampling, regularisers, specs and fields.
final class TriplaneTests: XCTestCase {
  // MARK: - Helpers

  /// An encoding with the given options and planes drawn N(0, 0.5^2) (mean 1 for product)
  /// from `seed`, so features and gradients are far from trivial.
  func encoding(_ configure: (inout TriplaneOptions) -> Void, seed: UInt64 = 3) -> TriplaneEncoding
  {
    var o = TriplaneOptions()
    o.resolutions = [4]
    o.channels = 3
    o.initStd = 0.5
    configure(&o)
    let e = try! TriplaneEncoding(options: o)
    var rng = RandomSource(seed: seed)
    e.initialize(rng: &rng)
    return e
  }

  func forward(_ layer: Layer, _ x: [Float]) -> [Float] {
    let n = x.count / layer.inputDim
    var y = [Float](repeating: .nan, count: n * layer.outputDim)
    x.withUnsafeBufferPointer { xb in
      y.withUnsafeMutableBufferPointer { layer.forward(xb.baseAddress!, $0.baseAddress!, count: n) }
    }
    return y
  }

  /// dL/dx for dL/dy = `dy`, adding parameter gradients when asked.
  func backward(_ layer: Layer, _ x: [Float], _ dy: [Float], parameters: Bool) -> [Float] {
    let n = x.count / layer.inputDim
    let y = forward(layer, x)
    var dx = [Float](repeating: .nan, count: x.count)
    x.withUnsafeBufferPointer { xb in
      y.withUnsafeBufferPointer { yb in
        dy.withUnsafeBufferPointer { db in
          dx.withUnsafeMutableBufferPointer {
            layer.backward(
              xb.baseAddress!, yb.baseAddress!, db.baseAddress!, $0.baseAddress!, count: n,
              parameterGradients: parameters)
          }
        }
      }
    }
    return dx
  }

  /// A coordinate of `axis` whose box-normalised value is in [lo, hi] and at least `margin`
  /// away from every texel line (where bilinear interpolation has kinks) of the given
  /// levels, so finite differences see a smooth function.
  static func smoothCoordinate(
    _ rng: inout RandomSource, _ o: TriplaneOptions, axis: Int = 0, lo: Double = -0.95,
    hi: Double = 0.95, margin: Double = 0.01
  ) -> Float {
    let (bl, bh) = (o.bounds[axis][0], o.bounds[axis][1])
    while true {
      let v = rng.uniform(lo, hi)
      var ok = true
      for r in o.resolutions {
        let t = o.alignCorners ? (v + 1) / 2 * Double(r - 1) : (v + 1) / 2 * Double(r) - 0.5
        let step = o.alignCorners ? 2 / Double(r - 1) : 2 / Double(r)
        if abs(t - t.rounded()) * step < margin { ok = false }
      }
      if ok { return Float(bl + (v + 1) / 2 * (bh - bl)) }
    }
  }

  // MARK: - PyTorch grid_sample

  /// Features of every align_corners x padding pair are PyTorch's bit for bit, through both
  /// the channel-last path (many rows) and the in-place path (one row at a time); input and
  /// plane gradients agree with PyTorch's autograd to rounding.
  func testMatchesPyTorchGridSampleBitForBit() {
    let r = TriplaneReference.resolution
    let c = TriplaneReference.channels
    let points = TriplaneReference.points
    let n = points.count / 3
    for align in [true, false] {
      for padding in [TriplaneOptions.Padding.zeros, .border] {
        let key = "\(align)/\(padding.rawValue)"
        var o = TriplaneOptions()
        o.resolutions = [r]
        o.channels = c
        o.aggregation = .concat
        o.alignCorners = align
        o.padding = padding
        let e = try! TriplaneEncoding(options: o)
        e.levels[0].value = (0..<(3 * c * r * r)).map { Float((($0 * 37) % 101) - 50) / 64 }
        let expected = TriplaneReference.features[key]!
        let all = forward(e, points)
        XCTAssertEqual(all.count, expected.count)
        var mismatches = 0
        for (i, (a, b)) in zip(all, expected).enumerated() where a.bitPattern != b {
          mismatches += 1
          if mismatches <= 5 {
            XCTFail("\(key): feature \(i) is \(a), PyTorch \(Float(bitPattern: b))")
          }
        }
        // One row at a time takes the in-place (NCHW) path.
        for row in 0..<n {
          let one = forward(e, Array(points[(row * 3)..<(row * 3 + 3)]))
          for k in 0..<(3 * c) where one[k].bitPattern != expected[row * 3 * c + k] {
            XCTFail("\(key): row \(row) alone, feature \(k) is \(one[k])")
          }
        }
        // Gradients of L = sum(features * w).
        let w = (0..<(n * 3 * c)).map { Float((($0 * 7) % 11) - 5) / 8 }
        e.levels[0].gradient = [Float](repeating: 0, count: e.levels[0].count)
        let dx = backward(e, points, w, parameters: true)
        for (i, (a, b)) in zip(dx, TriplaneReference.pointGradients[key]!).enumerated() {
          XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(b)), "\(key): dL/dpoint[\(i)]")
        }
        // The in-place path (one row) gives the same input gradient.
        for row in 0..<n {
          let one = backward(
            e, Array(points[(row * 3)..<(row * 3 + 3)]),
            Array(w[(row * 3 * c)..<((row + 1) * 3 * c)]), parameters: false)
          XCTAssertEqual(one, Array(dx[(row * 3)..<(row * 3 + 3)]), "\(key): row \(row) alone, dx")
        }
        for (i, (a, b)) in zip(e.levels[0].gradient, TriplaneReference.planeGradients[key]!)
          .enumerated()
        {
          XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(b)), "\(key): dL/dplanes[\(i)]")
        }
      }
    }
  }

  /// Points outside the box: zeros padding gives exactly 0 features beyond one texel,
  /// border padding gives the feature of the nearest face point.
  func testOutsideTheBox() {
    let zeros = encoding { $0.aggregation = .concat }
    let far = forward(zeros, [3, 0.2, -0.1])
    XCTAssertTrue(far[..<6].allSatisfy { $0 == 0 }, "xy and xz read x = 3: zero")
    XCTAssertEqual(far[6...].filter { $0 != 0 }.count, 3, "yz does not read x")
    XCTAssertTrue(forward(zeros, [5, -9, 2.5]).allSatisfy { $0 == 0 })
    XCTAssertTrue(forward(zeros, [.nan, .nan, .nan]).allSatisfy { $0 == 0 })
    let border = encoding {
      $0.aggregation = .concat
      $0.padding = .border
    }
    XCTAssertEqual(forward(border, [7, 0.3, -4]), forward(border, [1, 0.3, -1]))
    // Gradients on clamped axes are 0; the unclamped axis keeps its gradient.
    let dx = backward(border, [7, 0.3, -4], [Float](repeating: 1, count: 9), parameters: false)
    XCTAssertEqual(dx[0], 0)
    XCTAssertEqual(dx[2], 0)
    XCTAssertNotEqual(dx[1], 0)
  }

  // MARK: - Aggregation, levels, Fourier

  /// Sum, mean, product and multi-resolution sum/concat against direct computation from the
  /// per-plane features of single-level concat encodings; Fourier against Double formulas.
  func testAggregationsMatchDirectComputation() {
    var rng = RandomSource(seed: 11)
    let n = 50
    let x = (0..<(n * 3)).map { _ in Float(rng.uniform(-1.2, 1.2)) }
    let c = 3
    for resolutions in [[4], [4, 7]] {
      // Per level: the three planes' features, through concat encodings sharing the planes.
      let concat = encoding {
        $0.resolutions = resolutions
        $0.aggregation = .concat
      }
      var perLevel: [[Float]] = []
      for (l, r) in resolutions.enumerated() {
        let single = encoding {
          $0.resolutions = [r]
          $0.aggregation = .concat
        }
        single.levels[0].value = concat.levels[l].value
        perLevel.append(forward(single, x))
      }
      for aggregation in TriplaneOptions.Aggregation.allCases {
        for multires in TriplaneOptions.LevelCombination.allCases {
          let e = encoding {
            $0.resolutions = resolutions
            $0.aggregation = aggregation
            $0.multires = multires
          }
          for (a, b) in zip(e.levels, concat.levels) { a.value = b.value }
          let y = forward(e, x)
          let width = aggregation == .concat ? 3 * c : c
          XCTAssertEqual(e.outputDim, multires == .concat ? width * resolutions.count : width)
          for row in 0..<n {
            var expected: [Float] = []
            for l in resolutions.indices {
              let f = Array(perLevel[l][(row * 3 * c)..<((row + 1) * 3 * c)])
              let level: [Float]
              switch aggregation {
              case .sum: level = (0..<c).map { (f[$0] + f[c + $0]) + f[2 * c + $0] }
              case .mean: level = (0..<c).map { ((f[$0] + f[c + $0]) + f[2 * c + $0]) / 3 }
              case .product: level = (0..<c).map { (f[$0] * f[c + $0]) * f[2 * c + $0] }
              case .concat: level = f
              }
              if multires == .concat || l == 0 {
                expected += level
              } else {
                for k in 0..<width { expected[k] += level[k] }
              }
            }
            XCTAssertEqual(
              Array(y[(row * e.outputDim)..<((row + 1) * e.outputDim)]), expected,
              "\(aggregation) \(multires) \(resolutions) row \(row)")
          }
        }
      }
    }
  }

  /// A box other than [-1, 1]^3: with align_corners, texel centres sit at lo + k (hi - lo) /
  /// (R - 1), so a point on one reads that texel exactly; plane xy takes x along W.
  func testBoundsPutTexelCentresWhereExpected() {
    let e = encoding {
      $0.resolutions = [5]
      $0.channels = 1
      $0.aggregation = .concat
      $0.bounds = [[0, 4], [-2, 2], [10, 12]]
    }
    let y = forward(e, [1, 0, 11.5])  // texel coordinates x 1, y 2, z 3
    let v = e.levels[0].value
    XCTAssertEqual(y[0], v[0 * 25 + 2 * 5 + 1], "xy: h = y index 2, w = x index 1")
    XCTAssertEqual(y[1], v[1 * 25 + 3 * 5 + 1], "xz: h = z index 3, w = x index 1")
    XCTAssertEqual(y[2], v[2 * 25 + 3 * 5 + 2], "yz: h = z index 3, w = y index 2")
  }

  func testFourierFeatures() {
    let e = encoding {
      $0.fourier = 3
      $0.bounds = [[-2, 2], [0, 1], [-1, 1]]
    }
    XCTAssertEqual(e.outputDim, 3 + 3 + 18)
    let p: [Float] = [1.5, 0.25, -0.3]
    let y = forward(e, p)
    let q = [0.75, -0.5, -0.3]
    for a in 0..<3 { XCTAssertEqual(Double(y[3 + a]), q[a], accuracy: 1e-6) }
    for k in 0..<3 {
      for a in 0..<3 {
        let w = Double.pi * Double(1 << k)
        XCTAssertEqual(Double(y[6 + 6 * k + a]), sin(w * q[a]), accuracy: 2e-6)
        XCTAssertEqual(Double(y[6 + 6 * k + 3 + a]), cos(w * q[a]), accuracy: 2e-6)
      }
    }
    let noInput = encoding {
      $0.fourier = 2
      $0.fourierIncludeInput = false
    }
    XCTAssertEqual(noInput.outputDim, 3 + 12)
  }

  // MARK: - Gradients

  func testGradientCheckEveryAggregation() {
    for aggregation in TriplaneOptions.Aggregation.allCases {
      for (label, configure) in gradientConfigurations() {
        let e = encoding {
          $0.aggregation = aggregation
          configure(&$0)
        }
        let o = e.options
        var options = GradientCheckOptions()
        options.maxEntriesPerTensor = 96
        assertGradientsCorrect(of: e, label: "\(aggregation) \(label)", batch: 7, options: options)
        {
          _, column, rng in Self.smoothCoordinate(&rng, o, axis: column)
        }
      }
    }
  }

  /// The checks above use 3 channels, which the block kernels of triplane.h never see: with
  /// 16 channels (the default) forward runs `lamina_triplane_gather` (sum, mean) and
  /// backward `lamina_triplane_scatter_band` (all but mean), here against finite
  /// differences rather than against the Swift loops.
  func testGradientCheckThroughTheBlockKernels() {
    for aggregation in TriplaneOptions.Aggregation.allCases {
      let e = encoding {
        $0.channels = 16
        $0.aggregation = aggregation
      }
      if CPUFeatures.hasAVX2FMA {
        XCTAssertEqual(e.gatherKernel, aggregation == .sum || aggregation == .mean)
        XCTAssertEqual(e.scatterKernel, aggregation != .mean)
      }
      let o = e.options
      var options = GradientCheckOptions()
      options.maxEntriesPerTensor = 128
      // 7 rows read 7 x 16 texels of the 4 x 4 planes: enough for the channel-last copy
      // that the gather kernel reads.
      assertGradientsCorrect(of: e, label: "16 channels \(aggregation)", batch: 7, options: options)
      { _, column, rng in Self.smoothCoordinate(&rng, o, axis: column) }
    }
  }

  func gradientConfigurations() -> [(String, (inout TriplaneOptions) -> Void)] {
    [
      ("single level", { _ in }),
      (
        "align false",
        {
          $0.alignCorners = false
          $0.resolutions = [5]
        }
      ),
      (
        "multires concat + fourier",
        {
          $0.resolutions = [3, 6]
          $0.fourier = 2
        }
      ),
      (
        "multires sum, box",
        {
          $0.resolutions = [4, 5]
          $0.multires = .sum
          $0.bounds = [[-2, 1], [0, 3], [-0.5, 0.25]]
          $0.fourier = 1
        }
      ),
      (
        "border, align false",
        {
          $0.padding = .border
          $0.alignCorners = false
        }
      ),
      (
        "fourier without input",
        {
          $0.fourier = 1
          $0.fourierIncludeInput = false
          $0.channels = 9
        }
      ),
    ]
  }

  /// Points outside the box (border: clamped axes; zeros: the fading half texel).
  func testGradientCheckOutsideTheBox() {
    for padding in TriplaneOptions.Padding.allCases {
      let e = encoding {
        $0.padding = padding
        $0.alignCorners = false
        $0.resolutions = [4]
      }
      let o = e.options
      assertGradientsCorrect(of: e, label: "outside, \(padding)", batch: 6) { row, column, rng in
        // One coordinate per row in the band just outside a face (|v| in 1.03 ... 1.2).
        if column == row % 3 {
          let v = Float(rng.uniform(1.03, 1.2))
          return row % 2 == 0 ? v : -v
        }
        return Self.smoothCoordinate(&rng, o)
      }
    }
  }

  /// Several fields, checked through a wrapper that pins each row's field index (the
  /// index column is not differentiable, so finite differences must not probe it).
  func testGradientCheckWithFields() {
    for aggregation in [TriplaneOptions.Aggregation.sum, .product] {
      let e = encoding {
        $0.fields = 3
        $0.aggregation = aggregation
        $0.fourier = 1
      }
      let o = e.options
      assertGradientsCorrect(
        of: IndexPinned(e, field: { $0 % o.fields }), label: "fields \(aggregation)", batch: 8
      ) {
        _, _, rng in Self.smoothCoordinate(&rng, o)
      }
    }
  }

  /// Through the whole "triplane" model (encoding + decoder), exact input gradients
  /// (normals) against finite differences of `predict`.
  func testModelInputGradientIsExact() throws {
    let m = try Model(
      json:
        #"{"kind": "triplane", "resolution": 6, "channels": 4, "init_std": 0.3, "decoder": {"hidden": [16], "activation": "tanh"}, "fourier": 2, "seed": 2}"#
    )
    let o = (m.layers[0] as! TriplaneEncoding).options
    var rng = RandomSource(seed: 9)
    let x = (0..<(5 * 3)).map { _ in Self.smoothCoordinate(&rng, o) }
    let g = try m.inputGradient(x)
    for i in x.indices {
      var a = x
      var b = x
      let h: Float = 1e-3
      a[i] += h
      b[i] -= h
      let fa = try m.predict(a)[i / 3]
      let fb = try m.predict(b)[i / 3]
      let numeric = Double(fa - fb) / Double(a[i] - b[i])
      XCTAssertEqual(Double(g[i]), numeric, accuracy: 2e-3 + 1e-2 * abs(numeric), "dy/dx[\(i)]")
    }
  }

  // MARK: - Determinism and the scatter

  /// The plane gradient equals a plain single-threaded scatter in row order bit for bit
  /// (so it is the same on any thread count), and two runs are bit-identical; enough rows
  /// that the work is split across threads.
  func testBackwardIsDeterministicAndMatchesSerialScatter() {
    // R 8 is one scatter band; R 64 and 128 cut the planes into 2 and 8 bands at C 16
    // (`TriplaneEncoding.bandShift`), and R 100 at C 3 into bands of 64 and 36 rows,
    // with a scalar channel tail.
    let cases: [(Int, TriplaneOptions.Aggregation, Int, Int)] = [
      (1, .sum, 8, 16), (3, .concat, 8, 16), (2, .mean, 8, 16), (1, .sum, 64, 16),
      (1, .sum, 128, 16), (2, .concat, 100, 3), (3, .mean, 64, 16),
    ]
    XCTAssertEqual(TriplaneEncoding.bandShift(resolution: 128, channels: 16), 4)
    XCTAssertEqual(TriplaneEncoding.bandShift(resolution: 100, channels: 3), 6)
    XCTAssertEqual(TriplaneEncoding.bandShift(resolution: 64, channels: 16), 5)
    XCTAssertEqual(TriplaneEncoding.bandShift(resolution: 8, channels: 16), 8)
    for (fields, aggregation, resolution, channels) in cases {
      let e = encoding {
        $0.resolutions = [resolution]
        $0.channels = channels
        $0.fields = fields
        $0.aggregation = aggregation
      }
      var rng = RandomSource(seed: 21)
      // Enough rows for the parallel paths; fewer for the large planes, whose serial
      // reference is slow in debug builds.
      let n = resolution > 8 ? 6_000 : 12_000
      let d = e.inputDim
      var x = [Float](repeating: 0, count: n * d)
      for r in 0..<n {
        if fields > 1 { x[r * d] = Float(rng.index(below: fields)) }
        for a in 0..<3 { x[r * d + (fields > 1 ? 1 : 0) + a] = Float(rng.uniform(-1.1, 1.1)) }
      }
      let dy = (0..<(n * e.outputDim)).map { _ in Float(rng.uniform(-1, 1)) }
      func run() -> [Float] {
        e.levels[0].gradient = [Float](repeating: 0, count: e.levels[0].count)
        _ = backward(e, x, dy, parameters: true)
        return e.levels[0].gradient
      }
      let first = run()
      let second = run()
      let label = "fields \(fields) \(aggregation) R \(resolution) C \(channels)"
      XCTAssertEqual(first.map(\.bitPattern), second.map(\.bitPattern), label)
      let serial = serialScatter(e, x, dy)
      var differing = 0
      for (a, b) in zip(first, serial) where a.bitPattern != b.bitPattern { differing += 1 }
      XCTAssertEqual(differing, 0, "\(label): texels differing from the serial scatter")
      // At R 128 the 12k points touch only part of the texels.
      XCTAssertGreaterThan(first.filter { $0 != 0 }.count, first.count / (resolution > 64 ? 4 : 2))
    }
  }

  /// The AVX2/FMA sampling kernels give the same bits as the emulated path (a true FMA
  /// and the Double emulation differ only on rare exact ties, which these points do not
  /// hit): forward through channel-last copies (large batch) and in place (small batch),
  /// and dL/dx, for 16 channels (SIMD) and 3 (scalar tail).
  func testFMAKernelsMatchEmulatedSampling() throws {
    guard CPUFeatures.hasAVX2FMA else { throw XCTSkip("this CPU has no AVX2/FMA") }
    for (channels, aggregation) in [(16, TriplaneOptions.Aggregation.sum), (3, .product)] {
      let e = encoding {
        $0.resolutions = [32]
        $0.channels = channels
        $0.aggregation = aggregation
      }
      var rng = RandomSource(seed: 5)
      let n = 20_000
      let x = (0..<(n * 3)).map { _ in Float(rng.uniform(-1.05, 1.05)) }
      let dy = (0..<(n * e.outputDim)).map { _ in Float(rng.uniform(-1, 1)) }
      func run(fma: Bool) -> (large: [Float], small: [Float], dx: [Float]) {
        e.usesFMAKernels = fma
        defer { e.usesFMAKernels = CPUFeatures.hasAVX2FMA }
        return (
          forward(e, x), forward(e, Array(x[0..<(30 * 3)])), backward(e, x, dy, parameters: false)
        )
      }
      let (kernel, emulated) = (run(fma: true), run(fma: false))
      let label = "C \(channels) \(aggregation)"
      XCTAssertEqual(kernel.large.map(\.bitPattern), emulated.large.map(\.bitPattern), label)
      XCTAssertEqual(kernel.small.map(\.bitPattern), emulated.small.map(\.bitPattern), label)
      XCTAssertEqual(kernel.dx.map(\.bitPattern), emulated.dx.map(\.bitPattern), label)
      XCTAssertEqual(Array(kernel.large[0..<(30 * e.outputDim)]), kernel.small, label)
    }
  }

  /// The scatter's listing pass in row chunks (one field) keeps every band's rows in row
  /// order for batch sizes that do not divide into the chunks, smaller than the chunk count,
  /// and with the kernels on and off: the gradient equals the plain serial scatter's.
  func testChunkedListingMatchesSerialScatter() {
    for (n, resolution, kernels) in [(5, 64, true), (1_003, 64, true), (20_011, 128, false)] {
      let e = encoding {
        $0.resolutions = [resolution]
        $0.channels = 16
      }
      e.usesBlockKernels = kernels && CPUFeatures.hasAVX2FMA
      var rng = RandomSource(seed: UInt64(n))
      let x = (0..<(n * 3)).map { _ in Float(rng.uniform(-1.1, 1.1)) }
      let dy = (0..<(n * 16)).map { _ in Float(rng.uniform(-1, 1)) }
      _ = backward(e, x, dy, parameters: true)
      let serial = serialScatter(e, x, dy)
      XCTAssertEqual(e.levels[0].gradient.map(\.bitPattern), serial.map(\.bitPattern), "n \(n)")
    }
  }

  /// The block kernels (`triplane.h`: the gather of a run of rows, the scatter of a band and
  /// its transposed add into NCHW) give the Swift loops' bits: forward (large batch, so
  /// through channel-last copies) and the plane gradient, for both align_corners and both
  /// paddings, every aggregation, C 16 and 8 (kernels) and 3 (Swift fallback), a
  /// non-power-of-two resolution, several bands, fields, multires and a box other than
  /// [-1, 1]^3; points include the box edges, -0, exact texel lines, far outside and NaN.
  func testBlockKernelsMatchSwiftLoops() throws {
    guard CPUFeatures.hasAVX2FMA else { throw XCTSkip("this CPU has no AVX2/FMA") }
    typealias Case = (Int, TriplaneOptions.Aggregation, [Int], Int, Bool, TriplaneOptions.Padding)
    let cases: [Case] = [
      (1, .sum, [37], 16, true, .zeros), (1, .sum, [64], 16, false, .zeros),
      (1, .mean, [37], 8, true, .border), (1, .sum, [40], 8, false, .border),
      (1, .product, [37], 16, true, .zeros), (1, .concat, [20], 8, false, .border),
      (2, .sum, [37], 16, true, .zeros), (1, .sum, [16, 33], 16, true, .zeros),
      (1, .sum, [37], 3, true, .zeros),
    ]
    for (index, (fields, aggregation, resolutions, channels, align, padding)) in cases.enumerated()
    {
      let e = encoding {
        $0.resolutions = resolutions
        $0.channels = channels
        $0.fields = fields
        $0.aggregation = aggregation
        $0.alignCorners = align
        $0.padding = padding
        if index == 1 { $0.bounds = [[-2, 1], [0, 3], [-1, 1.5]] }
      }
      var rng = RandomSource(seed: 77 + UInt64(index))
      let n = 9_000
      let d = e.inputDim
      let special: [Float] = [-1, 1, 0, -0.0, .nan, 5, -7, 0.5, -1.0000001, 1.0000001]
      var x = [Float](repeating: 0, count: n * d)
      for r in 0..<n {
        if fields > 1 { x[r * d] = Float(rng.index(below: fields)) }
        for a in 0..<3 {
          x[r * d + d - 3 + a] =
            r % 7 == 0
            ? special[rng.index(below: special.count)] : Float(rng.uniform(-1.2, 1.2))
        }
      }
      let dy = (0..<(n * e.outputDim)).map { _ in Float(rng.uniform(-1, 1)) }
      func run(_ kernels: Bool) -> (y: [Float], grad: [[Float]]) {
        e.usesBlockKernels = kernels
        defer { e.usesBlockKernels = CPUFeatures.hasAVX2FMA }
        for level in e.levels { level.gradient = [Float](repeating: 0, count: level.count) }
        let y = forward(e, x)
        _ = backward(e, x, dy, parameters: true)
        return (y, e.levels.map(\.gradient))
      }
      let (fast, slow) = (run(true), run(false))
      let label = "case \(index): fields \(fields) \(aggregation) R \(resolutions) C \(channels)"
      XCTAssertEqual(fast.y.map(\.bitPattern), slow.y.map(\.bitPattern), label)
      for (a, b) in zip(fast.grad, slow.grad) {
        XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), label)
        XCTAssertGreaterThan(a.filter { $0 != 0 }.count, a.count / 8, label)
      }
    }
    XCTAssertTrue(encoding({ $0.channels = 16 }).gatherKernel)
    XCTAssertFalse(
      encoding({
        $0.channels = 16
        $0.fourier = 2
      }).gatherKernel)
    XCTAssertFalse(
      encoding({
        $0.channels = 16
        $0.aggregation = .mean
      }).scatterKernel)
  }

  /// dL/dplanes written out plainly: every row in order, planes xy, xz, yz, corners nw, ne,
  /// sw, se, as PyTorch's kernel weighs them (align_corners true, zeros padding).
  func serialScatter(_ e: TriplaneEncoding, _ x: [Float], _ dy: [Float]) -> [Float] {
    let o = e.options
    let r = o.resolutions[0]
    let c = o.channels
    let d = o.inputDim
    var g = [Float](repeating: 0, count: e.levels[0].count)
    let n = x.count / d
    for row in 0..<n {
      var field = 0
      if o.fields > 1 { field = Int(x[row * d]) }
      let p = Array(x[(row * d + d - 3)..<(row * d + d)])
      let s = Float(r - 1) / 2
      for (plane, (ia, ib)) in [(0, 1), (0, 2), (1, 2)].enumerated() {
        let u = (p[ia] + 1) * s
        let v = (p[ib] + 1) * s
        let (u0, v0) = (u.rounded(.down), v.rounded(.down))
        let (fw, fn) = (u - u0, v - v0)
        let corners: [(Int, Int, Float)] = [
          (Int(v0), Int(u0), (1 - fn) * (1 - fw)), (Int(v0), Int(u0) + 1, (1 - fn) * fw),
          (Int(v0) + 1, Int(u0), fn * (1 - fw)), (Int(v0) + 1, Int(u0) + 1, fn * fw),
        ]
        for (h, w, weight) in corners where h >= 0 && h < r && w >= 0 && w < r {
          for k in 0..<c {
            var up = dy[row * e.outputDim + k + (o.aggregation == .concat ? plane * c : 0)]
            if o.aggregation == .mean { up = up / 3 }
            g[((field * 3 + plane) * c + k) * r * r + h * r + w] += up * weight
          }
        }
      }
    }
    return g
  }

  // MARK: - Fields

  /// Each field's planes are its own: rows of field 0 move only field 0's gradient and
  /// outputs depend only on their own field's planes; bad indices give zeros and are
  /// reported by the check.
  func testFieldsAreIndependent() throws {
    let e = encoding {
      $0.fields = 2
      $0.resolutions = [5]
    }
    XCTAssertEqual(e.inputDim, 4)
    XCTAssertEqual(e.levels[0].shape, [6, 3, 5, 5])
    var rng = RandomSource(seed: 4)
    let n = 40
    var x: [Float] = []
    for _ in 0..<n { x += [0] + (0..<3).map { _ in Float(rng.uniform(-1, 1)) } }
    e.levels[0].gradient = [Float](repeating: 0, count: e.levels[0].count)
    _ = backward(e, x, [Float](repeating: 1, count: n * e.outputDim), parameters: true)
    let perField = 3 * 3 * 25
    XCTAssertTrue(e.levels[0].gradient[perField...].allSatisfy { $0 == 0 })
    XCTAssertGreaterThan(e.levels[0].gradient[..<perField].filter { $0 != 0 }.count, 20)
    // Changing field 1's planes leaves field 0's outputs alone.
    let before = forward(e, x)
    for i in perField..<(2 * perField) { e.levels[0].value[i] += 1 }
    XCTAssertEqual(forward(e, x), before)
    // Field 1 reads its own planes: same points, other field, other features.
    var x1 = x
    for r in 0..<n { x1[r * 4] = 1 }
    XCTAssertNotEqual(forward(e, x1), before)
    // Bad indices: zero features, zero input gradient, and an error from the check.
    for bad: Float in [-1, 2, 0.5, .nan] {
      XCTAssertTrue(forward(e, [bad, 0.1, 0.2, 0.3]).allSatisfy { $0 == 0 }, "index \(bad)")
      let dx = backward(
        e, [bad, 0.1, 0.2, 0.3], [Float](repeating: 1, count: 3), parameters: false)
      XCTAssertEqual(dx, [0, 0, 0, 0])
      XCTAssertThrowsError(
        try [bad, 0.1, 0.2, 0.3].withUnsafeBufferPointer {
          try e.checkFieldIndices($0.baseAddress!, count: 1)
        })
    }
    XCTAssertNoThrow(
      try x1.withUnsafeBufferPointer { try e.checkFieldIndices($0.baseAddress!, count: n) })
  }

  // MARK: - Upsampling

  /// align_corners true, R -> 2R - 1: the field is unchanged at every point of the box (and
  /// outside it with border padding; with zeros padding the fade past the faces spans one
  /// texel, which narrows); R -> 2R changes random planes noticeably but smooth planes only
  /// a little.
  func testUpsamplingKeepsTheField() throws {
    var rng = RandomSource(seed: 8)
    let n = 400
    for padding in TriplaneOptions.Padding.allCases {
      let span = padding == .zeros ? 1.0 : 1.3
      let x = (0..<(n * 3)).map { _ in Float(rng.uniform(-span, span)) }
      let e = encoding {
        $0.resolutions = [5, 9]
        $0.padding = padding
        $0.aggregation = .concat
      }
      let up = try e.upsampled(to: [9, 17])
      XCTAssertEqual(up.levels[1].shape, [3, 3, 17, 17])
      let a = forward(e, x)
      let b = forward(up, x)
      var worst: Float = 0
      for (u, v) in zip(a, b) { worst = max(worst, abs(u - v)) }
      XCTAssertLessThan(worst, 2e-6, "\(padding): R -> 2R - 1 must keep the field")
    }
    // R -> 2R on random planes: the field changes (the documented trap).
    let random = encoding {
      $0.aggregation = .concat
      $0.resolutions = [8]
    }
    let doubled = try random.upsampled(to: 16)
    let inside = (0..<(n * 3)).map { _ in Float(rng.uniform(-1, 1)) }
    XCTAssertGreaterThan(
      rms(forward(random, inside), forward(doubled, inside)), 0.05 * rms(forward(random, inside)))
    // On a smooth plane (a low-frequency function at the texel centres) R -> 2R changes little.
    let smooth = encoding {
      $0.aggregation = .concat
      $0.resolutions = [32]
      $0.channels = 1
    }
    for p in 0..<3 {
      for h in 0..<32 {
        for w in 0..<32 {
          let (u, v) = (Double(w) / 31 * 2 - 1, Double(h) / 31 * 2 - 1)
          smooth.levels[0].value[p * 1024 + h * 32 + w] = Float(
            sin(1.5 * u + 0.3 * Double(p)) * cos(v))
        }
      }
    }
    let smoothUp = try smooth.upsampled(to: 64)
    let fs = forward(smooth, inside)
    XCTAssertLessThan(rms(fs, forward(smoothUp, inside)), 0.01 * rms(fs))
    XCTAssertThrowsError(try smooth.upsampled(to: 1))
    XCTAssertThrowsError(try smooth.upsampled(to: 5000))
    XCTAssertThrowsError(try e2().upsampled(to: 9), "two levels need two resolutions")
  }

  func e2() -> TriplaneEncoding { encoding { $0.resolutions = [4, 6] } }

  func rms(_ a: [Float], _ b: [Float]? = nil) -> Float {
    var s = 0.0
    for i in a.indices {
      let d = Double(a[i] - (b?[i] ?? 0))
      s += d * d
    }
    return Float((s / Double(a.count)).squareRoot())
  }

  /// The model-level upsampling: new spec resolution, decoder copied, same outputs.
  func testModelUpsampling() throws {
    let m = try Model(
      json:
        #"{"kind": "triplane", "resolution": 5, "channels": 4, "init_std": 0.2, "decoder": {"hidden": [8]}, "seed": 1}"#
    )
    let up = try m.triplaneUpsampled(to: 9)
    XCTAssertEqual(up.spec["resolution"], .number(9))
    XCTAssertEqual(up.tensor(named: "0.planes")?.shape, [3, 4, 9, 9])
    XCTAssertEqual(up.tensor(named: "1.weight")?.value, m.tensor(named: "1.weight")?.value)
    XCTAssertFalse(up.tensor(named: "1.weight")! === m.tensor(named: "1.weight")!)
    var rng = RandomSource(seed: 2)
    let x = (0..<300).map { _ in Float(rng.uniform(-1, 1)) }
    for (a, b) in zip(try m.predict(x), try up.predict(x)) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    // The new spec rebuilds the same architecture.
    let rebuilt = try Model(spec: up.spec)
    XCTAssertEqual(rebuilt.tensors.map(\.name), up.tensors.map(\.name))
    XCTAssertEqual(rebuilt.tensors.map(\.parameter.shape), up.tensors.map(\.parameter.shape))
    // Sequential models too.
    let s = try Model(
      json:
        #"{"kind": "sequential", "input": 3, "layers": [{"type": "triplane", "resolution": 3, "channels": 2}, {"type": "dense", "output": 1}]}"#
    )
    let su = try s.triplaneUpsampled(to: 5)
    XCTAssertEqual(
      su.spec["layers"].flatMap {
        if case .array(let l) = $0 { return l[0]["resolution"] } else { return nil }
      }, .number(5))
    let mlp = try Model(json: #"{"kind": "mlp", "input": 3, "output": 1}"#)
    XCTAssertThrowsError(try mlp.triplaneUpsampled(to: 5))
  }

  // MARK: - Regularisers

  func testRegularizersMatchDirectComputationAndGradients() {
    let e = encoding {
      $0.resolutions = [4, 3]
      $0.fields = 2
      $0.channels = 2
    }
    let (tv, l2) = e.planeRegularization()
    var tvExpected = 0.0
    var l2Expected = 0.0
    for level in e.levels {
      let r = level.shape[3]
      let c = level.shape[1]
      for p in 0..<level.shape[0] {
        var sh = 0.0
        var sw = 0.0
        var sq = 0.0
        for ch in 0..<c {
          func v(_ h: Int, _ w: Int) -> Double {
            Double(level.value[((p * c + ch) * r + h) * r + w])
          }
          for h in 0..<r {
            for w in 0..<r {
              sq += v(h, w) * v(h, w)
              if h + 1 < r { sh += (v(h + 1, w) - v(h, w)) * (v(h + 1, w) - v(h, w)) }
              if w + 1 < r { sw += (v(h, w + 1) - v(h, w)) * (v(h, w + 1) - v(h, w)) }
            }
          }
        }
        let pairs = Double(c * (r - 1) * r)
        tvExpected += 2 * (sh / pairs + sw / pairs)
        l2Expected += sq / Double(c * r * r)
      }
    }
    XCTAssertEqual(tv, tvExpected / 2, accuracy: 1e-6 * tvExpected)
    XCTAssertEqual(l2, l2Expected / 2, accuracy: 1e-6 * l2Expected)
    // addPlaneRegularization: the weighted value, and its gradient added to what is there.
    let (wt, wl): (Float, Float) = (0.3, 0.7)
    for level in e.levels { level.gradient = [Float](repeating: 0.25, count: level.count) }
    let value = e.addPlaneRegularization(tv: wt, l2: wl)
    XCTAssertEqual(Double(value), 0.3 * tv + 0.7 * l2, accuracy: 1e-5 * (tv + l2))
    for level in e.levels {
      for i in stride(from: 0, to: level.count, by: 7) {
        let v = level.value[i]
        level.value[i] = v + 1e-2
        let (a1, b1) = e.planeRegularization()
        level.value[i] = v - 1e-2
        let (a2, b2) = e.planeRegularization()
        level.value[i] = v
        let numeric = (0.3 * (a1 - a2) + 0.7 * (b1 - b2)) / 2e-2
        XCTAssertEqual(
          Double(level.gradient[i]) - 0.25, numeric, accuracy: 1e-4 + 1e-3 * abs(numeric),
          "\(level.name)[\(i)]")
      }
    }
    XCTAssertEqual(e.addPlaneRegularization(tv: 0, l2: 0), 0)
  }

  // MARK: - Specs and the builder

  func testTriplaneKindFullSpecTensorsAndRoundTrip() throws {
    let m = try Model(
      json:
        #"{"kind": "triplane", "resolution": 16, "channels": 8, "aggregation": "sum", "decoder": {"hidden": [32], "activation": "relu"}, "output": 1, "seed": 0}"#
    )
    XCTAssertEqual(m.kind, "triplane")
    XCTAssertEqual(m.inputDim, 3)
    XCTAssertEqual(m.outputDim, 1)
    XCTAssertEqual(m.tensors.map(\.name), ["0.planes", "1.weight", "1.bias", "3.weight", "3.bias"])
    XCTAssertEqual(m.tensor(named: "0.planes")?.shape, [3, 8, 16, 16])
    XCTAssertEqual(m.tensor(named: "1.weight")?.shape, [32, 8])
    let expected = try JSONValue.parse(
      #"{"kind": "triplane", "resolution": 16, "channels": 8, "aggregation": "sum", "multires": "concat", "bounds": [[-1, 1], [-1, 1], [-1, 1]], "align_corners": true, "padding": "zeros", "fourier": 0, "fourier_include_input": true, "init": "normal", "init_mean": 0, "init_std": 0.001, "fields": 1, "decoder": {"kind": "mlp", "hidden": [32], "activation": [{"name": "relu"}], "output_activation": {"name": "identity"}, "init": "auto", "bias_init": "auto"}, "decoder_per_field": false, "output": 1, "seed": 0}"#
    )
    XCTAssertEqual(m.spec, expected, m.spec.text)
    // Planes: small normal, seeded, and not the decoder's stream.
    let planes = m.tensor(named: "0.planes")!.value
    let std = (planes.reduce(0) { $0 + Double($1 * $1) } / Double(planes.count)).squareRoot()
    XCTAssertEqual(std, 1e-3, accuracy: 1e-4)
    let again = try Model(spec: m.spec)
    XCTAssertEqual(again.spec, m.spec)
    for (a, b) in zip(again.parameters, m.parameters) { XCTAssertEqual(a.value, b.value) }
    let other = try Model(
      json: #"{"kind": "triplane", "resolution": 16, "channels": 8, "seed": 1}"#)
    XCTAssertNotEqual(other.tensor(named: "0.planes")!.value, planes)
    // Save / load keeps outputs bit for bit.
    var rng = RandomSource(seed: 1)
    for p in m.parameters {
      for i in p.value.indices { p.value[i] = Float(rng.uniform(-0.5, 0.5)) }
    }
    let x = (0..<(64 * 3)).map { _ in Float(rng.uniform(-1.1, 1.1)) }
    let loaded = try Model.decode(m.encoded())
    XCTAssertEqual(loaded.spec, m.spec)
    XCTAssertEqual(try loaded.predict(x), try m.predict(x))
  }

  func testKANDecoderMultiresAndSequential() throws {
    let m = try Model(
      json:
        #"{"kind": "triplane", "resolution": [8, 16], "channels": 4, "aggregation": "product", "fourier": 2, "decoder": {"kind": "kan", "hidden": [5], "grid": 4}, "output": 2, "fields": 3, "seed": 5}"#
    )
    XCTAssertEqual(m.inputDim, 4)
    XCTAssertEqual(m.outputDim, 2)
    XCTAssertEqual(Array(m.tensors.map(\.name).prefix(2)), ["0.planes_0", "0.planes_1"])
    XCTAssertEqual(m.tensor(named: "0.planes_1")?.shape, [9, 4, 16, 16])
    XCTAssertEqual(m.layers[1].inputDim, 2 * 4 + 3 + 12)
    guard case .object(let decoder)? = m.spec["decoder"] else { return XCTFail("no decoder") }
    XCTAssertEqual(decoder.first?.1, .string("kan"))
    XCTAssertEqual(m.spec["decoder"]?["hidden"], .array([.number(5)]))
    XCTAssertEqual(m.spec["init_mean"], .number(1), "product starts around 1")
    let planes = m.tensor(named: "0.planes_0")!.value
    XCTAssertEqual(planes.reduce(0) { $0 + Double($1) } / Double(planes.count), 1, accuracy: 1e-3)
    let rebuilt = try Model(spec: m.spec)
    XCTAssertEqual(rebuilt.spec, m.spec)
    for (a, b) in zip(rebuilt.parameters, m.parameters) { XCTAssertEqual(a.value, b.value) }
    let x: [Float] = [0, 0.1, 0.2, 0.3, 2, -0.4, 0.5, 0.9]
    let loaded = try Model.decode(m.encoded())
    XCTAssertEqual(try loaded.predict(x), try m.predict(x))
    // Sequential: an encoding layer anywhere its width fits.
    let s = try Model(
      json:
        #"{"kind": "sequential", "input": 3, "seed": 2, "layers": [{"type": "triplane", "resolution": 4, "channels": 6, "aggregation": "concat"}, {"type": "dense", "output": 5}, {"type": "activation", "name": "sine"}, {"type": "dense", "output": 1}]}"#
    )
    XCTAssertEqual(s.tensors.map(\.name).first, "0.planes")
    XCTAssertEqual(s.layers[1].inputDim, 18)
    XCTAssertEqual(try Model(spec: s.spec).spec, s.spec)
    // The spec example of SPEC.md builds as written.
    let example = try Model(
      json:
        #"{"kind": "triplane", "resolution": 128, "channels": 16, "aggregation": "sum", "decoder": {"hidden": [64], "activation": "relu"}, "output": 1, "seed": 0}"#
    )
    XCTAssertEqual(example.parameterCount, 3 * 16 * 128 * 128 + 16 * 64 + 64 + 64 + 1)
  }

  func testBadSpecsThrowClearErrors() {
    let cases: [(String, String)] = [
      (#"{"kind": "triplane", "resolution": 0}"#, "resolution"),
      (#"{"kind": "triplane", "resolution": 5000}"#, "resolution"),
      (#"{"kind": "triplane", "resolution": []}"#, "resolution"),
      (#"{"kind": "triplane", "resolution": 2.5}"#, "resolution"),
      (#"{"kind": "triplane", "resolution": 4096, "channels": 64}"#, "parameters"),
      (#"{"kind": "triplane", "resolution": 1024, "channels": 16, "fields": 100}"#, "parameters"),
      (#"{"kind": "triplane", "aggregation": "max"}"#, "aggregation"),
      (#"{"kind": "triplane", "padding": "reflection"}"#, "padding"),
      (#"{"kind": "triplane", "multires": "mean"}"#, "multires"),
      (#"{"kind": "triplane", "bounds": [1, -1]}"#, "bounds"),
      (#"{"kind": "triplane", "bounds": [[0, 1], [0, 1]]}"#, "bounds"),
      (#"{"kind": "triplane", "resolution": 8, "colour": 3}"#, "colour"),
      (#"{"kind": "triplane", "fields": 0}"#, "fields"),
      (#"{"kind": "triplane", "fourier": 99}"#, "fourier"),
      (#"{"kind": "triplane", "init": "xavier"}"#, "init"),
      (#"{"kind": "triplane", "init_std": -1}"#, "init_std"),
      (#"{"kind": "triplane", "decoder": {"input": 3}}"#, "input"),
      (#"{"kind": "triplane", "decoder": {"hidden": [8], "activaton": "relu"}}"#, "activaton"),
      (#"{"kind": "triplane", "decoder": {"kind": "transformer"}}"#, "kind"),
      (#"{"kind": "triplane", "decoder": {"kind": "kan", "widths": [3, 1]}}"#, "widths"),
      (#"{"kind": "triplane", "decoder": [64]}"#, "decoder"),
      (#"{"kind": "sequential", "input": 2, "layers": [{"type": "triplane"}]}"#, "3 features"),
      (
        #"{"kind": "sequential", "input": 3, "layers": [{"type": "triplane", "fields": 2}]}"#,
        "4 features"
      ),
    ]
    for (json, word) in cases {
      XCTAssertThrowsError(try Model(json: json), json) { error in
        let message = (error as? LaminaError)?.message ?? "\(error)"
        XCTAssertTrue(
          message.contains(word), "\(json): message \"\(message)\" does not name \(word)")
      }
    }
  }
}

/// The encoding inside the ordinary trainer: a sphere's signed distance is learned.
final class TriplaneTrainingTests: XCTestCase {
  func testTrainerFitsASphere() throws {
    let m = try Model(
      json:
        #"{"kind": "triplane", "resolution": 16, "channels": 8, "init_std": 0.1, "decoder": {"hidden": [32], "activation": "relu"}, "seed": 3}"#
    )
    var rng = RandomSource(seed: 5)
    let n = 2048
    var x: [Float] = []
    var y: [Float] = []
    for _ in 0..<n {
      let p = (0..<3).map { _ in Float(rng.uniform(-1, 1)) }
      x += p
      y.append((p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).squareRoot() - 0.6)
    }
    let trainer = try Trainer(
      model: m,
      json:
        #"{"optimizer": "adam", "learning_rate": 0.01, "batch_size": 256, "epochs": 30, "seed": 1}"#
    )
    let before = try trainer.evaluate(x: x, y: y)
    let after = try trainer.fit(x: x, y: y)
    XCTAssertLessThan(after, before / 20, "loss \(before) -> \(after)")
    // Normals from the exact input gradient point outward on the learned field.
    let g = try m.inputGradient([0.6, 0, 0, 0, -0.6, 0])
    XCTAssertGreaterThan(g[0], 0.5)
    XCTAssertLessThan(g[4], -0.5)
  }
}

/// The model-level helpers the trainer and the bindings call.
final class TriplaneModelHelperTests: XCTestCase {
  func testModelRegularizationInputCheckAndSirenDecoder() throws {
    let m = try Model(
      json:
        #"{"kind": "triplane", "resolution": [4, 6], "channels": 2, "fields": 2, "init_std": 0.5, "decoder": {"hidden": [8], "activation": "sine"}, "seed": 4}"#
    )
    XCTAssertEqual(m.triplaneEncodings.map(\.index), [0])
    let encoding = m.triplaneEncodings[0].layer
    // The decoder is a SIREN: sine activations, SIREN initialisation.
    XCTAssertEqual(
      m.spec["decoder"]?["activation"],
      .array([.object([("name", .string("sine")), ("omega_0", .number(30))])]))
    // Regularisation through the model equals the encoding's own.
    for p in m.parameters { p.gradient = [Float](repeating: 0, count: p.count) }
    let value = m.addTriplaneRegularization(tv: 0.5, l2: 0.25)
    let (tv, l2) = encoding.planeRegularization()
    XCTAssertEqual(Double(value), 0.5 * tv + 0.25 * l2, accuracy: 1e-5 * (tv + l2))
    XCTAssertTrue(m.tensor(named: "0.planes_1")!.gradient.contains { $0 != 0 })
    XCTAssertTrue(
      m.tensor(named: "1.weight")!.gradient.allSatisfy { $0 == 0 }, "only planes are regularised")
    // Field indices: accepted when whole and in range, refused otherwise.
    let good: [Float] = [0, 0.1, 0.2, 0.3, 1, -0.5, 0.5, 0]
    XCTAssertNoThrow(
      try good.withUnsafeBufferPointer { try m.checkTriplaneInput($0.baseAddress!, count: 2) })
    for bad: Float in [2, -1, 0.5] {
      let x: [Float] = [0, 0, 0, 0, bad, 0, 0, 0]
      XCTAssertThrowsError(
        try x.withUnsafeBufferPointer { try m.checkTriplaneInput($0.baseAddress!, count: 2) }
      ) {
        XCTAssertTrue(($0 as? LaminaError)?.message.contains("row 1") ?? false)
      }
    }
    let mlp = try Model(json: #"{"kind": "mlp", "input": 3, "output": 1}"#)
    XCTAssertEqual(mlp.addTriplaneRegularization(tv: 1, l2: 1), 0)
    XCTAssertNoThrow(
      try [Float](repeating: 7, count: 3).withUnsafeBufferPointer {
        try mlp.checkTriplaneInput($0.baseAddress!, count: 1)
      })
  }
}
