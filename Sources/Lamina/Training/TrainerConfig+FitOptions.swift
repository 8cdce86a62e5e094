/// The key split the fit options share (`FieldFitOptions`, `PointCloudFitOptions`): a fit's
/// own keys, trainer keys, and trainer keys that mean nothing for that fit.
extension TrainerConfig {
  /// Splits the JSON object `json` into the pairs whose keys are in `own` and a trainer
  /// config made from the rest over `defaults`; throws for a key in `refused` (with its
  /// message tail) and for a key that is neither, naming every known key.
  static func splitFitOptions(
    _ json: JSONValue, own: [String], refused: [String: String],
    defaults: [(String, JSONValue)], what: String
  ) throws -> (own: [(String, JSONValue)], trainer: TrainerConfig) {
    guard case .object(let pairs) = json else {
      throw LaminaError.invalid("\(what) must be a JSON object, not \(json.typeName)")
    }
    var trainerKeys: [String] = []
    if case .object(let all) = TrainerConfig().json { trainerKeys = all.map(\.0) }
    trainerKeys.removeAll { refused[$0] != nil }
    var mine: [(String, JSONValue)] = []
    var rest = defaults
    for (key, value) in pairs {
      if let why = refused[key] {
        throw LaminaError.invalid("\(what): \"\(key)\" \(why)")
      } else if own.contains(key) {
        mine.append((key, value))
      } else if trainerKeys.contains(key) {
        rest.removeAll { $0.0 == key }
        rest.append((key, value))
      } else {
        let known = (own + trainerKeys).sorted().map { "\"\($0)\"" }
        throw LaminaError.invalid(
          "\(what): unknown key \"\(key)\" (known keys: \(known.joined(separator: ", ")))")
      }
    }
    return (mine, try TrainerConfig(json: .object(rest)))
  }
}
