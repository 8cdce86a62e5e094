// Exports: saving and loading a trainer's state (optimizer moments, L-BFGS memory, schedule
// position, shuffling generator) as a safetensors file.
import CLaminaABI
import Lamina

@_cdecl("lamina_trainer_save_state")
public func laminaTrainerSaveState(_ trainer: OpaquePointer?, _ path: UnsafePointer<CChar>?)
  -> lamina_status
{
  guarded {
    let f = "lamina_trainer_save_state"
    let t = try Handles.object(trainer, as: Trainer.self, "trainer", in: f)
    // READ-ONLY: a step (EXCLUSIVE on the model) cannot change the state while it is read.
    try beginReading(t.model, in: f)
    defer { t.model.useGuard.endShared() }
    let p = try filePath(path, in: f)
    try named(f) { try t.saveState(to: p) }
  }
}

@_cdecl("lamina_trainer_load_state")
public func laminaTrainerLoadState(_ trainer: OpaquePointer?, _ path: UnsafePointer<CChar>?)
  -> lamina_status
{
  guarded {
    let f = "lamina_trainer_load_state"
    let t = try Handles.object(trainer, as: Trainer.self, "trainer", in: f)
    let p = try filePath(path, in: f)
    try beginChanging(t.model, in: f)
    defer { t.model.useGuard.endExclusive() }
    try named(f) { try t.loadState(from: p) }
  }
}
