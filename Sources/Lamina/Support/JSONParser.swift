/// A strict RFC 8259 JSON parser over UTF-8 bytes.
///
/// Foundation's `JSONDecoder` accepts trailing commas and silently keeps one of two
/// duplicate keys; a spec with either is a mistake the user should hear about, and hostile
/// input must not recurse without bound, so specs, configs and file headers go through
/// this small parser instead.
struct JSONParser {
  /// Deepest nesting of arrays and objects accepted.
  static let maxDepth = 128

  /// Why and where parsing stopped.
  struct Failure: Error {
    let reason: String
    let offset: Int
  }

  private let bytes: UnsafeBufferPointer<UInt8>
  private var position = 0
  private var depth = 0

  init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

  /// One value and nothing after it but whitespace.
  mutating func document() throws -> JSONValue {
    let v = try value()
    skipWhitespace()
    guard position == bytes.count else { throw fail("unexpected text after the JSON value") }
    return v
  }

  private func fail(_ reason: String) -> Failure { Failure(reason: reason, offset: position) }

  private mutating func skipWhitespace() {
    while position < bytes.count {
      switch bytes[position] {
      case 0x20, 0x09, 0x0A, 0x0D: position += 1
      default: return
      }
    }
  }

  private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

  private mutating func expect(_ literal: String, _ result: JSONValue) throws -> JSONValue {
    for byte in literal.utf8 {
      guard current == byte else { throw fail("invalid literal") }
      position += 1
    }
    return result
  }

  private mutating func value() throws -> JSONValue {
    skipWhitespace()
    guard let c = current else { throw fail("unexpected end of text") }
    switch c {
    case UInt8(ascii: "{"): return try object()
    case UInt8(ascii: "["): return try array()
    case UInt8(ascii: "\""): return .string(try string())
    case UInt8(ascii: "t"): return try expect("true", .bool(true))
    case UInt8(ascii: "f"): return try expect("false", .bool(false))
    case UInt8(ascii: "n"): return try expect("null", .null)
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
    default: throw fail("unexpected character '\(Unicode.Scalar(c))'")
    }
  }

  private mutating func enter() throws {
    depth += 1
    guard depth <= JSONParser.maxDepth else {
      throw fail("nesting deeper than \(JSONParser.maxDepth) levels")
    }
  }

  private mutating func object() throws -> JSONValue {
    try enter()
    position += 1
    var pairs: [(String, JSONValue)] = []
    var keys: Set<String> = []
    skipWhitespace()
    if current == UInt8(ascii: "}") {
      position += 1
      depth -= 1
      return .object(pairs)
    }
    while true {
      skipWhitespace()
      guard current == UInt8(ascii: "\"") else { throw fail("expected a string key") }
      let key = try string()
      guard keys.insert(key).inserted else { throw fail("duplicate key \"\(key)\"") }
      skipWhitespace()
      guard current == UInt8(ascii: ":") else { throw fail("expected ':' after a key") }
      position += 1
      pairs.append((key, try value()))
      skipWhitespace()
      switch current {
      case UInt8(ascii: ","): position += 1
      case UInt8(ascii: "}"):
        position += 1
        depth -= 1
        return .object(pairs)
      default: throw fail("expected ',' or '}' in an object")
      }
    }
  }

  private mutating func array() throws -> JSONValue {
    try enter()
    position += 1
    var items: [JSONValue] = []
    skipWhitespace()
    if current == UInt8(ascii: "]") {
      position += 1
      depth -= 1
      return .array(items)
    }
    while true {
      items.append(try value())
      skipWhitespace()
      switch current {
      case UInt8(ascii: ","): position += 1
      case UInt8(ascii: "]"):
        position += 1
        depth -= 1
        return .array(items)
      default: throw fail("expected ',' or ']' in an array")
      }
    }
  }

  private mutating func hex4() throws -> UInt32 {
    var v: UInt32 = 0
    for _ in 0..<4 {
      guard let c = current else { throw fail("unterminated \\u escape") }
      let d: UInt32
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
      case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
      case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
      default: throw fail("invalid \\u escape")
      }
      v = v * 16 + d
      position += 1
    }
    return v
  }

  private mutating func string() throws -> String {
    position += 1
    var out: [UInt8] = []
    while true {
      guard let c = current else { throw fail("unterminated string") }
      position += 1
      switch c {
      case UInt8(ascii: "\""):
        guard let s = String(validating: out, as: UTF8.self) else {
          throw fail("string is not valid UTF-8")
        }
        return s
      case UInt8(ascii: "\\"):
        guard let e = current else { throw fail("unterminated escape") }
        position += 1
        switch e {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "/"): out.append(0x2F)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
          var scalar = try hex4()
          if (0xD800..<0xDC00).contains(scalar) {
            guard current == UInt8(ascii: "\\") else { throw fail("unpaired surrogate") }
            position += 1
            guard current == UInt8(ascii: "u") else { throw fail("unpaired surrogate") }
            position += 1
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
          }
          guard let u = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
          out.append(contentsOf: Array(String(Character(u)).utf8))
        default: throw fail("invalid escape")
        }
      case 0..<0x20: throw fail("control character in a string")
      default: out.append(c)
      }
    }
  }

  private mutating func number() throws -> JSONValue {
    let start = position
    func digits() -> Int {
      let s = position
      while let c = current, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { position += 1 }
      return position - s
    }
    if current == UInt8(ascii: "-") { position += 1 }
    if current == UInt8(ascii: "0") {
      position += 1
    } else if digits() == 0 {
      throw fail("invalid number")
    }
    if current == UInt8(ascii: ".") {
      position += 1
      guard digits() > 0 else { throw fail("invalid number") }
    }
    if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
      position += 1
      if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
      guard digits() > 0 else { throw fail("invalid number") }
    }
    let text = String(
      decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    guard let d = Double(text), d.isFinite else { throw fail("number out of range") }
    return .number(d)
  }
}
