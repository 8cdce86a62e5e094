import Synchronization
import XCTest

@testable import Lamina

#if canImport(Glibc)
  import Glibc
#endif

/// The thread-count setting: `WorkerPool.resize(to:)` (workers beyond the limit claim no
/// tasks; a higher limit starts workers), `Lamina.setThreads` and its default, the
/// `LAMINA_NUM_THREADS` parser, and scratch pools that follow the count.
final class ThreadCountTests: XCTestCase {
  override func tearDown() {
    Lamina.setThreads(0)
    super.tearDown()
  }

  /// The distinct threads that ran `count` tasks of about 100 us each on `pool` (long
  /// enough that spinning workers join in when they may).
  private func threadsRunning(_ pool: WorkerPool, _ count: Int) -> Set<UInt> {
    var ids = [UInt](repeating: 0, count: count)
    ids.withUnsafeMutableBufferPointer { out in
      let base = out.baseAddress!
      pool.run(count) { task in
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let start = ts.tv_sec * 1_000_000_000 + ts.tv_nsec
        var now = start
        while now - start < 100_000 {
          clock_gettime(CLOCK_MONOTONIC, &ts)
          now = ts.tv_sec * 1_000_000_000 + ts.tv_nsec
        }
        base[task] = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(bitPattern: pthread_self())))
      }
    }
    return Set(ids)
  }

  func testLowerLimitKeepsWorkersOut() {
    let pool = WorkerPool(threads: 4)
    XCTAssertEqual(pool.workers, 3)
    let caller = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(bitPattern: pthread_self())))
    pool.resize(to: 1)
    for _ in 0..<5 {
      XCTAssertEqual(threadsRunning(pool, 32), [caller], "one thread: the caller runs every task")
    }
    pool.resize(to: 2)
    for _ in 0..<5 {
      XCTAssertLessThanOrEqual(threadsRunning(pool, 32).count, 2, "two threads at most")
    }
    XCTAssertEqual(pool.workers, 3, "lowering the limit parks workers, it does not stop them")
  }

  func testHigherLimitStartsWorkers() {
    let pool = WorkerPool(threads: 1)
    XCTAssertEqual(pool.workers, 0)
    pool.resize(to: 3)
    XCTAssertEqual(pool.workers, 2)
    pool.resize(to: 100)
    XCTAssertEqual(pool.workers, WorkerPool.maxThreads - 1, "clamped to the pool's maximum")
    // Every task still runs exactly once after the changes.
    var hits = [Int](repeating: 0, count: 500)
    hits.withUnsafeMutableBufferPointer { out in
      let base = out.baseAddress!
      pool.run(500) { base[$0] += 1 }
    }
    XCTAssertEqual(hits, [Int](repeating: 1, count: 500))
  }

  func testSettingClampsAndRestoresDefault() {
    let initial = Lamina.threads
    Lamina.setThreads(1)
    XCTAssertEqual(Lamina.threads, 1)
    Lamina.setThreads(3)
    XCTAssertEqual(Lamina.threads, 3)
    Lamina.setThreads(50)
    XCTAssertEqual(Lamina.threads, Lamina.maxThreads)
    Lamina.setThreads(0)
    XCTAssertEqual(Lamina.threads, WorkerPool.defaultSetting)
    XCTAssertEqual(initial, WorkerPool.defaultSetting)
  }

  func testEnvironmentParser() {
    XCTAssertEqual(WorkerPool.parseThreadCount("1"), 1)
    XCTAssertEqual(WorkerPool.parseThreadCount("4"), 4)
    XCTAssertEqual(WorkerPool.parseThreadCount(" 2 "), 2)
    XCTAssertEqual(WorkerPool.parseThreadCount("12"), WorkerPool.maxThreads)
    XCTAssertEqual(WorkerPool.parseThreadCount("123456789012345678901234567890"), 8)
    for junk in ["", " ", "0", "00", "-1", "+2", "two", "2x", "1.5", "0x4"] {
      XCTAssertNil(WorkerPool.parseThreadCount(junk), "\"\(junk)\" is not a positive integer")
    }
  }

  func testScratchPoolsGrowWithTheThreadCount() {
    Lamina.setThreads(2)
    let scratch = ScratchPool(perThread: 2)
    scratch.withBytes(100) { _ in }
    let before = scratch.idleByteCounts.count
    XCTAssertGreaterThanOrEqual(before, 2 * 2)
    Lamina.setThreads(4)
    scratch.withBytes(100) { _ in }
    XCTAssertGreaterThanOrEqual(scratch.idleByteCounts.count, 2 * 4, "a buffer for every thread")
    XCTAssertTrue(scratch.idleByteCounts.allSatisfy { $0 >= 100 })
  }

  func testGeometryLoopsIdenticalOnOneAndSeveralThreads() throws {
    // Marching cubes over a sampled sphere: chunks run on the pool (`Parallel.forEach`).
    let n = 48
    var grid = [Float](repeating: 0, count: n * n * n)
    for i in 0..<n {
      for j in 0..<n {
        for k in 0..<n {
          let p = SIMD3(Float(i), Float(j), Float(k)) / Float(n - 1) * 2 - 1
          grid[(i * n + j) * n + k] = (p * p).sum().squareRoot() - 0.7
        }
      }
    }
    var meshes: [[Float]] = []
    for threads in [1, 2, 4] {
      Lamina.setThreads(threads)
      meshes.append(try marchingCubesVertices(grid, n))
    }
    XCTAssertFalse(meshes[0].isEmpty)
    XCTAssertEqual(meshes[0], meshes[1])
    XCTAssertEqual(meshes[0], meshes[2])
  }

  /// The vertices of `grid`'s zero level set (`n` samples per axis over [-1, 1]^3).
  private func marchingCubesVertices(_ grid: [Float], _ n: Int) throws -> [Float] {
    try grid.withUnsafeBufferPointer {
      try MarchingCubes.extract(
        values: $0.baseAddress!, resolution: (n, n, n), lower: SIMD3(-1, -1, -1),
        upper: SIMD3(1, 1, 1), level: 0, gradient: nil, slabsPerChunk: 1
      ).vertices
    }
  }
}
