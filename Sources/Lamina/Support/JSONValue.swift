/// A parsed JSON document. Objects keep their keys in order so that specs written back out
/// read the way people wrote them.
public indirect enum JSONValue: Equatable, Sendable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([(String, JSONValue)])

  public static func == (a: JSONValue, b: JSONValue) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case (.bool(let x), .bool(let y)): return x == y
    case (.number(let x), .number(let y)): return x == y
    case (.string(let x), .string(let y)): return x == y
    case (.array(let x), .array(let y)): return x == y
    case (.object(let x), .object(let y)):
      return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    default: return false
    }
  }

  /// Parses UTF-8 JSON text. Errors name what is wrong; text over `Limits.maxJSONBytes` is refused.
  public static func parse(_ text: String, what: String = "JSON") throws -> JSONValue {
    let bytes = Array(text.utf8)
    guard bytes.count <= Limits.maxJSONBytes else {
      throw LaminaError.invalid(
        "\(what) is \(bytes.count) bytes, over the limit of \(Limits.maxJSONBytes)")
    }
    return try parse(bytes: bytes, what: what, code: .invalidArgument)
  }

  /// Parses UTF-8 JSON bytes (RFC 8259, strictly: no trailing commas, comments or
  /// duplicate keys; nesting at most `JSONParser.maxDepth`), reporting failures with `code`.
  static func parse(bytes: [UInt8], what: String, code: LaminaError.Code) throws -> JSONValue {
    do {
      return try bytes.withUnsafeBufferPointer { buffer in
        var parser = JSONParser(buffer)
        return try parser.document()
      }
    } catch let error as JSONParser.Failure {
      throw LaminaError(code, "\(what) is malformed: \(error.reason) at byte \(error.offset)")
    }
  }

  /// Compact JSON text for this value.
  public var text: String {
    var out = ""
    write(to: &out)
    return out
  }

  func write(to out: inout String) {
    switch self {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .number(let d): out += JSONValue.format(d)
    case .string(let s): JSONValue.quote(s, into: &out)
    case .array(let items):
      out += "["
      for (i, item) in items.enumerated() {
        if i > 0 { out += ", " }
        item.write(to: &out)
      }
      out += "]"
    case .object(let pairs):
      out += "{"
      for (i, (key, value)) in pairs.enumerated() {
        if i > 0 { out += ", " }
        JSONValue.quote(key, into: &out)
        out += ": "
        value.write(to: &out)
      }
      out += "}"
    }
  }

  /// A number whose text is as long as any `text` writes for a number (24 bytes: a sign,
  /// 17 significant digits, the point and a three-digit exponent), so that a caller can bound
  /// the length of text before knowing the numbers in it.
  public static let widestNumber = -2.2250738585072014e-308

  static func format(_ d: Double) -> String {
    if d.isFinite, d == d.rounded(), abs(d) < 9.007_199_254_740_992e15 { return String(Int64(d)) }
    return d.isFinite ? "\(d)" : "null"
  }

  static func quote(_ s: String, into out: inout String) {
    out += "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if scalar.value < 0x20 {
          let hex = String(scalar.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    out += "\""
  }

  /// A short name of this value's JSON type, for error messages.
  var typeName: String {
    switch self {
    case .null: return "null"
    case .bool: return "a boolean"
    case .number: return "a number"
    case .string: return "a string"
    case .array: return "an array"
    case .object: return "an object"
    }
  }

  /// The value of `key` in an object, or nil.
  public subscript(key: String) -> JSONValue? {
    if case .object(let pairs) = self { return pairs.first { $0.0 == key }?.1 }
    return nil
  }
}

/// Reads the keys of one JSON object with defaults and range checks, and refuses keys it was
/// never asked for, so a typo in a spec is an error rather than a silently ignored setting.
final class JSONObjectReader {
  let what: String
  private let pairs: [(String, JSONValue)]
  private var used: Set<String> = []

  /// `what` names the object in messages ("model spec", "layer 2", ...).
  init(_ value: JSONValue, what: String) throws {
    guard case .object(let pairs) = value else {
      throw LaminaError.invalid("\(what) must be a JSON object, not \(value.typeName)")
    }
    self.what = what
    self.pairs = pairs
  }

  /// Whether the object has `key` (and marks it as read).
  func has(_ key: String) -> Bool {
    used.insert(key)
    return pairs.contains { $0.0 == key }
  }

  /// The raw value of `key`, or nil when absent or null.
  func value(_ key: String) -> JSONValue? {
    used.insert(key)
    guard let v = pairs.first(where: { $0.0 == key })?.1, v != .null else { return nil }
    return v
  }

  func double(
    _ key: String, default def: Double? = nil, min: Double = -.infinity,
    max: Double = .infinity, exclusiveMin: Bool = false,
    exclusiveMax: Bool = false
  ) throws -> Double {
    guard let v = value(key) else {
      if let def { return def }
      throw LaminaError.invalid("\(what): missing required key \"\(key)\"")
    }
    guard case .number(let d) = v else {
      throw LaminaError.invalid("\(what): \"\(key)\" must be a number, not \(v.typeName)")
    }
    guard d.isFinite, exclusiveMin ? d > min : d >= min, exclusiveMax ? d < max : d <= max else {
      let low = exclusiveMin ? "> \(min)" : ">= \(min)"
      let high = exclusiveMax ? "< \(max)" : "<= \(max)"
      throw LaminaError.invalid("\(what): \"\(key)\" is \(d); it must be \(low) and \(high)")
    }
    return d
  }

  func int(_ key: String, default def: Int? = nil, min: Int = Int.min, max: Int = Int.max) throws
    -> Int
  {
    guard let v = value(key) else {
      if let def { return def }
      throw LaminaError.invalid("\(what): missing required key \"\(key)\"")
    }
    return try JSONObjectReader.integer(v, "\(what): \"\(key)\"", min: min, max: max)
  }

  static func integer(_ v: JSONValue, _ label: String, min: Int, max: Int) throws -> Int {
    guard case .number(let d) = v, d == d.rounded(), abs(d) < 9.0e15 else {
      throw LaminaError.invalid(
        "\(label) must be an integer, not \(v.typeName == "a number" ? "a fraction" : v.typeName)")
    }
    let i = Int(d)
    guard i >= min, i <= max else {
      throw LaminaError.invalid("\(label) is \(i); it must be between \(min) and \(max)")
    }
    return i
  }

  func bool(_ key: String, default def: Bool) throws -> Bool {
    guard let v = value(key) else { return def }
    guard case .bool(let b) = v else {
      throw LaminaError.invalid("\(what): \"\(key)\" must be true or false, not \(v.typeName)")
    }
    return b
  }

  func string(_ key: String, default def: String? = nil) throws -> String {
    guard let v = value(key) else {
      if let def { return def }
      throw LaminaError.invalid("\(what): missing required key \"\(key)\"")
    }
    guard case .string(let s) = v else {
      throw LaminaError.invalid("\(what): \"\(key)\" must be a string, not \(v.typeName)")
    }
    return s
  }

  /// Throws if the object has a key none of the accessors asked for.
  func finish() throws {
    for (key, _) in pairs where !used.contains(key) {
      let known = used.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
      throw LaminaError.invalid("\(what): unknown key \"\(key)\" (known keys: \(known))")
    }
  }
}
