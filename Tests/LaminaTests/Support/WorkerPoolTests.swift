import CBLAS
import Dispatch
import Synchronization
import XCTest

@testable import Lamina

#if canImport(Glibc)
  import Glibc
#endif

/// A counter shared by tasks (an `Atomic` cannot be captured by copy).
private final class Counter: @unchecked Sendable {
  let value = Atomic<Int>(0)
}

/// A pool job counting how often each index runs.
private struct CountingJob: PoolJob {
  let hits: UnsafeMutablePointer<Int>
  /// Counts one run of `index`.
  func run(_ index: Int) { hits[index] += 1 }
}

final class WorkerPoolTests: XCTestCase {
  /// A pool with three workers whatever the machine, so hand-offs to several threads are
  /// exercised on a 2-core runner too (oversubscribed, which the pool must tolerate).
  private static let wide = WorkerPool(threads: 4)

  /// Runs `count` tasks on `pool` and returns how often each index ran.
  private func hits(_ pool: WorkerPool, _ count: Int) -> [Int] {
    let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
    defer { hits.deallocate() }
    hits.initialize(repeating: 0, count: max(count, 1))
    pool.run(count) { hits[$0] += 1 }
    return Array(UnsafeBufferPointer(start: hits, count: count))
  }

  func testEveryTaskRunsExactlyOnce() {
    for pool in [WorkerPool.shared, Self.wide, WorkerPool(threads: 1)] {
      for count in [0, 1, 2, 3, 7, 8, 64, 1000] {
        for _ in 0..<20 {
          XCTAssertEqual(hits(pool, count), [Int](repeating: 1, count: count), "count \(count)")
        }
      }
    }
    XCTAssertEqual(Self.wide.workers, 3)
    XCTAssertEqual(WorkerPool(threads: 1).workers, 0, "one thread: the caller alone")
  }

  /// The allocation-free entry point (a `PoolJob` on the caller's stack) runs every index
  /// once too, including zero and one task.
  func testPoolJobRunsEveryTaskOnce() {
    for pool in [WorkerPool.shared, Self.wide] {
      for count in [0, 1, 2, 5, 8, 333] {
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
        defer { hits.deallocate() }
        hits.initialize(repeating: 0, count: max(count, 1))
        var job = CountingJob(hits: hits)
        for _ in 0..<10 { pool.run(count, &job) }
        XCTAssertTrue((0..<count).allSatisfy { hits[$0] == 10 }, "count \(count)")
      }
    }
  }

  /// A task that calls `run` again gets its inner tasks run on its own thread, all of them,
  /// instead of waiting for a pool its own call holds.
  func testNestedCallsRunSeriallyWithoutDeadlock() {
    for pool in [WorkerPool.shared, Self.wide] {
      let (outer, inner) = (6, 5)
      let hits = UnsafeMutablePointer<Int>.allocate(capacity: outer * inner)
      defer { hits.deallocate() }
      hits.initialize(repeating: 0, count: outer * inner)
      let threadsMatch = Counter()
      pool.run(outer) { i in
        let me = pthread_self()
        pool.run(inner) { j in
          hits[i * inner + j] += 1
          if pthread_equal(pthread_self(), me) != 0 {
            threadsMatch.value.wrappingAdd(1, ordering: .relaxed)
          }
        }
      }
      XCTAssertTrue((0..<(outer * inner)).allSatisfy { hits[$0] == 1 })
      XCTAssertEqual(
        threadsMatch.value.load(ordering: .relaxed), outer * inner,
        "inner tasks run on the thread of the task that called")
    }
  }

  /// Several user threads calling at once: one owns the pool, the others run serially;
  /// every call still runs each of its tasks exactly once.
  func testConcurrentCallersFromSeveralThreads() {
    for pool in [WorkerPool.shared, Self.wide] {
      let callers = 4
      let rounds = 300
      let count = 9
      let failures = Counter()
      DispatchQueue.concurrentPerform(iterations: callers) { _ in
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: count)
        defer { hits.deallocate() }
        for _ in 0..<rounds {
          hits.initialize(repeating: 0, count: count)
          pool.run(count) { hits[$0] += 1 }
          if !(0..<count).allSatisfy({ hits[$0] == 1 }) {
            failures.value.wrappingAdd(1, ordering: .relaxed)
          }
        }
      }
      XCTAssertEqual(failures.value.load(ordering: .relaxed), 0)
    }
  }

  /// Long and short tasks mixed (dynamic claiming balances them): the sums are complete.
  func testLongAndShortBodies() {
    let pool = Self.wide
    let count = 16
    let sums = UnsafeMutablePointer<Double>.allocate(capacity: count)
    defer { sums.deallocate() }
    pool.run(count) { i in
      // Task i does 1 or 200_000 iterations: a few nanoseconds or about a millisecond.
      let n = i % 4 == 0 ? 200_000 : 1
      var s = 0.0
      for k in 0..<n { s += Double(k & 7) }
      sums[i] = s
    }
    for i in 0..<count {
      let n = i % 4 == 0 ? 200_000 : 1
      XCTAssertEqual(sums[i], Double((0..<n).reduce(0) { $0 + ($1 & 7) }), "task \(i)")
    }
  }

  /// Workers that went to sleep (idle past the spin window) wake for the next call: two
  /// tasks that each wait for the other to start can only finish if a worker runs one.
  func testSleepingWorkersWakeForTheNextCall() {
    // Its own pool: one that other tests left backing off (after a long task on a worker,
    // see `noteWait`) would run both tasks on the caller, which here never finishes.
    let pool = WorkerPool(threads: 2)
    for round in 0..<5 {
      usleep(20_000)  // well past `spinNanoseconds`: the workers are asleep
      let started = Counter()
      let met = Counter()
      pool.run(2) { _ in
        started.value.wrappingAdd(1, ordering: .sequentiallyConsistent)
        // At most 5 s, so a broken pool fails the test instead of hanging it.
        let deadline = DispatchTime.now().uptimeNanoseconds + 5_000_000_000
        while started.value.load(ordering: .sequentiallyConsistent) < 2
          && DispatchTime.now().uptimeNanoseconds < deadline
        {
          sched_yield()
        }
        if started.value.load(ordering: .sequentiallyConsistent) == 2 {
          met.value.wrappingAdd(1, ordering: .relaxed)
        }
      }
      XCTAssertEqual(met.value.load(ordering: .relaxed), 2, "round \(round)")
    }
  }

  /// A split product gives the same bits when its blocks run on the pool and when they run
  /// serially (inside another pool task, where `run` does not hand work on).
  func testSplitProductSameOnPoolAndSerially() throws {
    let shapes: [(m: Int, n: Int, k: Int)] = [(256, 64, 64), (64, 64, 256), (1000, 70, 90)]
    var rng = RandomSource(seed: 3)
    for (m, n, k) in shapes {
      XCTAssertNotNil(RowPlan.split(m: m, n: n, k: k), "\(m)x\(n)x\(k) splits")
      let a = (0..<(m * k)).map { _ in Float(rng.uniform(-1, 1)) }
      let b = (0..<(k * n)).map { _ in Float(rng.uniform(-1, 1)) }
      func product() -> [Float] {
        var c = [Float](repeating: 0.5, count: m * n)
        a.withUnsafeBufferPointer { ab in
          b.withUnsafeBufferPointer { bb in
            c.withUnsafeMutableBufferPointer { cb in
              BLAS.gemm(
                transA: false, transB: false, m: m, n: n, k: k, alpha: 1, ab.baseAddress!,
                lda: k, bb.baseAddress!, ldb: n, beta: 1, cb.baseAddress!, ldc: n)
            }
          }
        }
        return c
      }
      let pooled = product()
      var serial: [Float] = []
      WorkerPool.shared.run(2) { task in
        if task == 0 { serial = product() }
      }
      XCTAssertEqual(pooled, serial, "\(m)x\(n)x\(k)")
    }
  }

  /// Tasks on worker threads run with the calling thread's floating-point control bits: with
  /// flush-to-zero set by the caller (as a host may), a subnormal product is zero in every
  /// task, not only in those the caller happens to run itself.
  func testTasksRunWithTheCallersFloatControl() throws {
    let saved = lamina_float_control()
    #if arch(x86_64) || arch(i386)
      let flushing = saved | 0x8040  // MXCSR flush-to-zero (bit 15), denormals-are-zero (6)
    #elseif arch(arm64)
      let flushing = saved | (1 << 24)  // FPCR flush-to-zero
    #else
      throw XCTSkip("no known floating-point control bits on this architecture")
    #endif
    let count = 16
    let tiny = [Float](repeating: Float.leastNormalMagnitude, count: count)
    var results = [Float](repeating: -1, count: count)
    var threads = [pthread_t](repeating: pthread_self(), count: count)
    var sawWorker = false
    // Start the workers before the bits change: a new thread inherits its creator's.
    _ = hits(Self.wide, 4)
    // Each task spins ~0.2 ms so a worker claims some; retried in case none did (a busy
    // machine), since only a task on a worker can tell.
    for _ in 0..<50 where !sawWorker {
      lamina_set_float_control(flushing)
      XCTAssertEqual(tiny.withUnsafeBufferPointer { $0[0] * 0.5 }, 0, "flushed on the caller")
      tiny.withUnsafeBufferPointer { t in
        results.withUnsafeMutableBufferPointer { r in
          threads.withUnsafeMutableBufferPointer { th in
            Self.wide.run(count) { i in
              let start = DispatchTime.now().uptimeNanoseconds
              while DispatchTime.now().uptimeNanoseconds - start < 200_000 {}
              r[i] = t[i] * 0.5
              th[i] = pthread_self()
            }
          }
        }
      }
      lamina_set_float_control(saved)
      let caller = pthread_self()
      sawWorker = threads.contains { pthread_equal($0, caller) == 0 }
      XCTAssertEqual(results, [Float](repeating: 0, count: count))
    }
    XCTAssertTrue(sawWorker, "no task ran on a worker thread in 50 calls")
    // Back to the saved bits, the same subnormal survives on every thread.
    tiny.withUnsafeBufferPointer { t in
      results.withUnsafeMutableBufferPointer { r in
        Self.wide.run(count) { i in r[i] = t[i] * 0.5 }
      }
    }
    XCTAssertEqual(results, [Float](repeating: Float.leastNormalMagnitude / 2, count: count))
  }
}
