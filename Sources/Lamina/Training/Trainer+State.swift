/// Saving and loading a trainer's state (`TrainerState`): the optimizer's moments or L-BFGS
/// memory, the schedule's position and the shuffling generator, so that training stopped
/// after k steps and resumed reaches the weights of a run that never stopped, bit for bit.
extension Trainer {
  /// The bytes of this trainer's state file (a safetensors file; see `TrainerState`).
  public func encodedState() -> [UInt8] {
    TrainerState(of: self).encoded(for: self)
  }

  /// Restores the state from file bytes `encodedState()` wrote, for a trainer of the same
  /// model architecture and optimizer settings (`TrainerState.optimizerKeys`; the learning
  /// rate, schedule, loss and epochs may differ). Everything is checked first; on any error
  /// nothing changes. Throws `.format` for a damaged or foreign file (a model file
  /// included), `.shape` for a state of another model, `.invalidArgument` for a state of
  /// other optimizer settings.
  public func restoreState(_ bytes: [UInt8]) throws {
    try TrainerState.decode(bytes, for: self).apply(to: self)
  }

  /// Writes the state to `path` atomically (a temporary file beside it, synced and renamed
  /// over it), so a failure leaves any previous file as it was. The model's weights are
  /// not in it: save them with `Model.save(to:)`. Throws `.io`, or `.invalidArgument` for
  /// an empty path.
  public func saveState(to path: String) throws {
    try FileIO.checkPath(path)
    try FileIO.writeAtomically(encodedState(), to: path)
  }

  /// Loads a state `saveState(to:)` wrote, as `restoreState`; a resumed run is the model
  /// loaded from its file, a new trainer with the same optimizer settings, and this call.
  /// Throws `.io` when the file cannot be read, and as `restoreState`.
  public func loadState(from path: String) throws {
    let bytes = try FileIO.readFile(
      path, limit: TrainerState.maximumFileBytes(for: self),
      what: "trainer state for this trainer")
    try restoreState(bytes)
  }
}
