// TEMPORARY placeholder, replaced by the full activation zoo.
public struct Activation {
  public let name: String
  public static func parse(_ value: JSONValue, what: String) throws -> Activation {
    guard case .string(let s) = value, ["identity", "relu", "tanh"].contains(s) else {
      throw LaminaError.invalid("\(what): unknown activation")
    }
    return Activation(name: s)
  }
  public var spec: JSONValue { .object([("name", .string(name))]) }
}
