import Dispatch
import XCTest

@testable import Lamina

/// The try-lock behind the C interface's READ-ONLY / EXCLUSIVE check.
final class UseGuardTests: XCTestCase {
  func testReadersShareAndExcludeWriters() {
    let g = UseGuard()
    XCTAssertTrue(g.beginShared())
    XCTAssertTrue(g.beginShared())
    XCTAssertFalse(g.beginExclusive(), "a writer got in while two readers were in")
    g.endShared()
    XCTAssertFalse(g.beginExclusive(), "a writer got in while a reader was in")
    g.endShared()
    XCTAssertTrue(g.beginExclusive(), "a writer was refused with nobody in")
    XCTAssertFalse(g.beginExclusive(), "a second writer got in (same thread)")
    g.endExclusive()
    XCTAssertTrue(g.beginExclusive(), "the count did not return to zero")
    g.endExclusive()
  }

  func testReaderOnTheWritersThreadIsLetIn() {
    let g = UseGuard()
    XCTAssertTrue(g.beginExclusive())
    XCTAssertTrue(g.isHeldByCurrentThread)
    XCTAssertTrue(g.beginShared(), "a callback's read on the training thread was refused")
    g.endShared()
    // Another thread is refused while this one holds it.
    let seen = Seen()
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
      seen.admitted = g.beginShared()
      seen.held = g.isHeldByCurrentThread
      done.signal()
    }
    done.wait()
    XCTAssertFalse(seen.admitted, "a reader on another thread got in during an exclusive use")
    XCTAssertFalse(seen.held)
    g.endExclusive()
    XCTAssertFalse(g.isHeldByCurrentThread)
    // The refused reader left no trace: a writer gets in again.
    XCTAssertTrue(g.beginExclusive())
    g.endExclusive()
  }

  func testConcurrentReadersAndWritersStayBalanced() {
    let g = UseGuard()
    let counter = ManagedCounter()
    DispatchQueue.concurrentPerform(iterations: 8) { i in
      for _ in 0..<20_000 {
        if i % 4 == 0 {
          if g.beginExclusive() {
            counter.bump()
            g.endExclusive()
          }
        } else if g.beginShared() {
          g.endShared()
        }
      }
    }
    XCTAssertTrue(g.beginExclusive(), "the guard was left held after balanced uses")
    g.endExclusive()
    XCTAssertGreaterThan(counter.value, 0)
  }
}

/// A counter only ever changed under an exclusive use (so unsynchronised by design: a data
/// race here under TSan would mean the guard let two writers in).
private final class ManagedCounter: @unchecked Sendable {
  var value = 0
  func bump() { value += 1 }
}

/// What the other thread saw (written before, read after a semaphore).
private final class Seen: @unchecked Sendable {
  var admitted = true
  var held = true
}
