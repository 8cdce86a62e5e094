// The C interface's thread-safety rule, checked: READ-ONLY calls on a model may overlap each
// other; an EXCLUSIVE call (training, tensor writes, grid updates, symbolic fixes) must not
// overlap any other call on the same model. Each export that touches a model's weights marks
// its use with the model's `UseGuard`, so a host that breaks the rule gets an error instead
// of a data race. Two atomic operations per call; never waits.
import CLaminaABI
import Lamina

/// Starts a READ-ONLY use of `m` by `function`, or throws when an EXCLUSIVE call holds it.
/// Pair with `defer { m.useGuard.endShared() }`.
@inline(__always)
func beginReading(_ m: Model, in function: String) throws {
  guard m.useGuard.beginShared() else { throw overlapError(m, in: function) }
}

/// Starts an EXCLUSIVE use of `m` by `function`, or throws when any other call uses it.
/// Pair with `defer { m.useGuard.endExclusive() }`.
@inline(__always)
func beginChanging(_ m: Model, in function: String) throws {
  guard m.useGuard.beginExclusive() else { throw overlapError(m, in: function) }
}

/// The refusal of an overlapping call (kept out of line: it is the rare path).
@inline(never)
func overlapError(_ m: Model, in function: String) -> LaminaError {
  if m.useGuard.isHeldByCurrentThread {
    return LaminaError(
      .invalidArgument,
      "\(function): model is in use by a call further up this thread (a progress callback may "
        + "read the model being trained, not change it; EXCLUSIVE calls must not overlap)")
  }
  return LaminaError(
    .invalidArgument,
    "\(function): model is in use by another call on another thread (EXCLUSIVE calls must not "
      + "overlap any other call on the same model)")
}
