import XCTest

@testable import Lamina

/// The strict JSON parser behind specs, configs and safetensors headers.
final class JSONTests: XCTestCase {
  func testParsesEveryValueKind() throws {
    let v = try JSONValue.parse(
      #" {"a": [1, -2.5e3, 0.001, true, false, null], "b": {"c": "x\"\\\/\n\u00e9\ud83d\ude00"}} "#)
    XCTAssertEqual(
      v["a"],
      .array([.number(1), .number(-2500), .number(0.001), .bool(true), .bool(false), .null]))
    XCTAssertEqual(v["b"]?["c"], .string("x\"\\/\né😀"))
  }

  func testKeepsKeyOrderAndRoundTrips() throws {
    let text = #"{"z": 1, "a": [2, {"m": "n"}], "k": -0.5}"#
    let v = try JSONValue.parse(text)
    XCTAssertEqual(v.text, text)
    XCTAssertEqual(try JSONValue.parse(v.text), v)
  }

  func testRejectsWhatRFC8259Rejects() {
    for bad in [
      "", " ", "{", "[1,2", #"{"a": 1,}"#, "[1,]", #"{"a" 1}"#, #"{a: 1}"#, "01", "1.", ".5", "-",
      "1e", "+1", "nul", "tru", "NaN", "Infinity", "1e999", #""abc"#, "\"\u{01}\"", #""\x""#,
      #""\ud800""#, "[1] 2", "/* c */ 1", #"{"a": 1, "a": 2}"#, "'a'",
    ] {
      XCTAssertThrowsError(try JSONValue.parse(bad), "accepted \(bad.debugDescription)") {
        XCTAssertEqual(($0 as? LaminaError)?.code, .invalidArgument)
      }
    }
  }

  func testNestingIsBounded() throws {
    XCTAssertNoThrow(
      try JSONValue.parse(String(repeating: "[", count: 100) + String(repeating: "]", count: 100)))
    XCTAssertThrowsError(
      try JSONValue.parse(String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000))
    )
    XCTAssertThrowsError(try JSONValue.parse(String(repeating: "{\"a\":", count: 100_000)))
  }

  func testErrorMessageSaysWhere() {
    XCTAssertThrowsError(try JSONValue.parse(#"{"a": 1,}"#, what: "model spec")) {
      let m = ($0 as? LaminaError)?.message ?? ""
      XCTAssertTrue(m.hasPrefix("model spec is malformed"), m)
      XCTAssertTrue(m.contains("byte 8"), m)
    }
  }

  func testNumbersPrintCompactly() {
    XCTAssertEqual(JSONValue.number(3).text, "3")
    XCTAssertEqual(JSONValue.number(-0.25).text, "-0.25")
    XCTAssertEqual(JSONValue.number(1e-8).text, "1e-08")
    XCTAssertEqual(JSONValue.string("\u{1}").text, "\"\\u0001\"")
  }

  /// `widestNumber` bounds the text of every number (suggest_symbolic's sizing call counts
  /// each number at that width): extremes, and random bit patterns.
  func testWidestNumberIsAsWideAsAnyNumber() {
    let widest = JSONValue.number(JSONValue.widestNumber).text.utf8.count
    XCTAssertEqual(widest, 24)
    var values: [Double] = [
      -.greatestFiniteMagnitude, -.leastNonzeroMagnitude, -.leastNormalMagnitude,
      -0.000_123_456_789_012_345_67, -9_007_199_254_740_993, -1.234_567_890_123_456_7e16,
      -123_456_789_012_345.67, .nan, -.infinity, -0.0,
    ]
    var rng = RandomSource(seed: 13)
    for _ in 0..<100_000 { values.append(Double(bitPattern: rng.next())) }
    for v in values {
      XCTAssertLessThanOrEqual(JSONValue.number(v).text.utf8.count, widest, "\(v)")
    }
  }

  func testObjectReaderRefusesUnknownKeysAndWrongTypes() throws {
    let r = try JSONObjectReader(JSONValue.parse(#"{"a": 1, "b": "x", "c": true}"#), what: "thing")
    XCTAssertEqual(try r.int("a"), 1)
    XCTAssertThrowsError(try r.int("b"))
    XCTAssertThrowsError(try r.finish()) {
      XCTAssertTrue((($0 as? LaminaError)?.message ?? "").contains("unknown key \"c\""))
    }
  }
}
