import XCTest

@testable import Lamina

/// `PointKDTree`'s batched distances (what `lamina_point_cloud_distance` runs): brute force's
/// answers exactly, the lowest index among ties, and the same bits on any thread count.
final class PointCloudDistanceTests: XCTestCase {
  /// Pools of 1, 2 and 4 threads, made once (their workers live as long as the process).
  private static let pools = [1, 2, 4].map { WorkerPool(threads: $0) }

  /// `count` points uniform in [-r, r]^3, every `latticeEvery`-th one snapped to a lattice
  /// of spacing 1/4 (ties), when given.
  private func cloud(_ count: Int, _ r: Double, seed: UInt64, latticeEvery: Int = 0) -> [Float] {
    var rng = RandomSource(seed: seed)
    var xyz: [Float] = []
    for i in 0..<count {
      for _ in 0..<3 {
        let u = Float(rng.uniform(-r, r))
        xyz.append(latticeEvery > 0 && i % latticeEvery == 0 ? (u * 4).rounded() / 4 : u)
      }
    }
    return xyz
  }

  /// Brute force in the tree's arithmetic: the least `((p - q) * (p - q)).sum()` and the
  /// lowest index attaining it.
  private func bruteForce(_ points: [Float], _ q: SIMD3<Float>) -> (index: Int, d2: Float) {
    var best = Float.infinity
    var index = -1
    for i in 0..<(points.count / 3) {
      let d = SIMD3(points[3 * i], points[3 * i + 1], points[3 * i + 2]) - q
      let d2 = (d * d).sum()
      if d2 < best || index < 0 {
        best = d2
        index = i
      }
    }
    return (index, best)
  }

  private func query(
    _ tree: PointKDTree, _ queries: [Float], pool: WorkerPool = .shared
  ) -> ([Float], [UInt32]) {
    let n = queries.count / 3
    var d = [Float](repeating: -1, count: n)
    var k = [UInt32](repeating: .max, count: n)
    queries.withUnsafeBufferPointer { q in
      d.withUnsafeMutableBufferPointer { dp in
        k.withUnsafeMutableBufferPointer { kp in
          tree.distances(
            q.baseAddress!, count: n, into: dp.baseAddress!, nearest: kp.baseAddress!, pool: pool)
        }
      }
    }
    return (d, k)
  }

  /// Random and lattice clouds of several sizes (leaf-only, one split, deep trees), queries
  /// inside and outside the cloud and on its points: every distance and index is brute
  /// force's, bit for bit.
  func testMatchesBruteForce() {
    for (size, seed) in [(1, 1), (5, 2), (9, 3), (64, 4), (1000, 5), (4000, 6)] {
      let points = cloud(size, 1, seed: UInt64(seed), latticeEvery: 3)
      let tree = PointKDTree(xyz: points)
      var queries = cloud(1500, 1.5, seed: UInt64(100 + seed), latticeEvery: 2)
      // A few queries exactly on cloud points.
      for i in stride(from: 0, to: 1500, by: 50) {
        for c in 0..<3 { queries[3 * i + c] = points[3 * (i % size) + c] }
      }
      let (d, k) = query(tree, queries)
      var mismatches = 0
      for i in 0..<1500 {
        let q = SIMD3(queries[3 * i], queries[3 * i + 1], queries[3 * i + 2])
        let want = bruteForce(points, q)
        if d[i] != want.d2.squareRoot() || Int(k[i]) != want.index { mismatches += 1 }
      }
      XCTAssertEqual(mismatches, 0, "\(size) points")
      XCTAssertEqual(tree.distances(queries), d, "the array form")
    }
  }

  /// Every point three times, far apart in index: each query's nearest is the first copy.
  func testDuplicatesGoToTheLowestIndex() {
    let base = cloud(300, 1, seed: 7, latticeEvery: 1)
    let points = base + base.reversed().chunked3Reversed() + base
    let tree = PointKDTree(xyz: points)
    let queries = cloud(3000, 1.2, seed: 8, latticeEvery: 2)
    let (d, k) = query(tree, queries)
    for i in 0..<3000 {
      let q = SIMD3(queries[3 * i], queries[3 * i + 1], queries[3 * i + 2])
      let want = bruteForce(points, q)
      XCTAssertEqual(Int(k[i]), want.index, "query \(i)")
      XCTAssertEqual(d[i], want.d2.squareRoot(), "query \(i)")
      XCTAssertLessThan(Int(k[i]), 300, "query \(i): not the first copy")
    }
    // All points equal: index 0 for every query.
    let same = PointKDTree(xyz: [Float](repeating: 0.5, count: 3 * 50))
    let (ds, ks) = query(same, [0, 0, 0, 0.5, 0.5, 0.5])
    XCTAssertEqual(ks, [0, 0])
    XCTAssertEqual(ds, [(Float(0.75)).squareRoot(), 0])
  }

  /// The batch's bits are those of one query at a time, whichever pool (1, 2 or 4 threads)
  /// runs its tasks; the batch spans many tasks.
  func testThreadCountIndependence() {
    let points = cloud(5000, 1, seed: 9)
    let tree = PointKDTree(xyz: points)
    let n = 10 * RowPlan.pointQueriesPerTask + 17
    let queries = cloud(n, 1.3, seed: 10)
    var serialD = [Float](repeating: 0, count: n)
    var serialK = [UInt32](repeating: 0, count: n)
    for i in 0..<n {
      let (index, d2) = tree.nearest(SIMD3(queries[3 * i], queries[3 * i + 1], queries[3 * i + 2]))
      serialD[i] = d2.squareRoot()
      serialK[i] = UInt32(index)
    }
    for pool in Self.pools {
      let threads = pool.workers + 1
      let (d, k) = query(tree, queries, pool: pool)
      XCTAssertEqual(d.map(\.bitPattern), serialD.map(\.bitPattern), "\(threads) threads")
      XCTAssertEqual(k, serialK, "\(threads) threads")
    }
    let (d, k) = query(tree, queries)
    XCTAssertEqual(d.map(\.bitPattern), serialD.map(\.bitPattern), "the shared pool")
    XCTAssertEqual(k, serialK, "the shared pool")
  }

  /// Squared distances past Float's range are +inf, with an index still in range.
  func testOverflowingDistances() {
    let tree = PointKDTree(xyz: [3e38, 3e38, 3e38, -3e38, -3e38, -3e38])
    let (d, k) = query(tree, [-3e38, 3e38, 0])
    XCTAssertEqual(d, [.infinity])
    XCTAssertEqual(k, [0])
  }
}

extension Array where Element == Float {
  /// The reversed array's x, y, z triples put back in x, y, z order (so `reversed()` of a
  /// point list reverses the points, not their coordinates).
  fileprivate func chunked3Reversed() -> [Float] {
    var out: [Float] = []
    out.reserveCapacity(count)
    for i in stride(from: 0, to: count, by: 3) { out += self[i..<(i + 3)].reversed() }
    return out
  }
}
