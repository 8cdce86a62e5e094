/// The safetensors container (https://github.com/huggingface/safetensors): an 8-byte
/// little-endian header length, a JSON header naming each tensor's dtype, shape and byte
/// range, string metadata under "__metadata__", then the raw little-endian data.
/// Lamina writes and reads float32 ("F32") tensors only.
enum SafeTensors {
  /// One tensor of a file.
  struct Tensor: Equatable {
    var name: String
    var shape: [Int]
    var values: [Float]
  }

  /// Encodes tensors (in the order given) and string metadata into file bytes.
  static func encode(_ tensors: [Tensor], metadata: [(String, String)]) -> [UInt8] {
    var header: [(String, JSONValue)] = [
      ("__metadata__", .object(metadata.map { ($0.0, JSONValue.string($0.1)) }))
    ]
    var offset = 0
    for t in tensors {
      let bytes = t.values.count * 4
      header.append(
        (
          t.name,
          .object([
            ("dtype", .string("F32")), ("shape", .array(t.shape.map { .number(Double($0)) })),
            ("data_offsets", .array([.number(Double(offset)), .number(Double(offset + bytes))])),
          ])
        ))
      offset += bytes
    }
    var headerBytes = Array(JSONValue.object(header).text.utf8)
    // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
    while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }
    var out = [UInt8]()
    out.reserveCapacity(8 + headerBytes.count + offset)
    var n = UInt64(headerBytes.count)
    for _ in 0..<8 {
      out.append(UInt8(truncatingIfNeeded: n))
      n >>= 8
    }
    out += headerBytes
    for t in tensors {
      for v in t.values {
        let bits = v.bitPattern.littleEndian
        out.append(UInt8(truncatingIfNeeded: bits))
        out.append(UInt8(truncatingIfNeeded: bits >> 8))
        out.append(UInt8(truncatingIfNeeded: bits >> 16))
        out.append(UInt8(truncatingIfNeeded: bits >> 24))
      }
    }
    return out
  }

  /// Decodes file bytes, checking every length, offset, dtype and shape before touching
  /// the data. Throws `.format` naming the first problem.
  static func decode(_ bytes: [UInt8]) throws -> (tensors: [Tensor], metadata: [String: String]) {
    guard bytes.count >= 8 else {
      throw LaminaError.format("file is \(bytes.count) bytes, too short for a safetensors header")
    }
    var length: UInt64 = 0
    for i in (0..<8).reversed() { length = length << 8 | UInt64(bytes[i]) }
    guard length <= UInt64(Limits.maxHeaderBytes) else {
      throw LaminaError.format(
        "safetensors header length \(length) is over the limit of \(Limits.maxHeaderBytes)")
    }
    let headerEnd = 8 + Int(length)
    guard headerEnd <= bytes.count else {
      throw LaminaError.format(
        "safetensors header claims \(length) bytes but the file has \(bytes.count - 8) after the length"
      )
    }
    let header = try JSONValue.parse(
      bytes: Array(bytes[8..<headerEnd]), what: "safetensors header", code: .format)
    guard case .object(let entries) = header else {
      throw LaminaError.format("safetensors header is not a JSON object")
    }
    let dataSize = bytes.count - headerEnd
    var metadata: [String: String] = [:]
    var tensors: [Tensor] = []
    var ranges: [(Int, Int)] = []
    for (name, entry) in entries {
      if name == "__metadata__" {
        guard case .object(let pairs) = entry else {
          throw LaminaError.format("safetensors __metadata__ is not an object")
        }
        for (k, v) in pairs {
          guard case .string(let s) = v else {
            throw LaminaError.format("safetensors metadata \"\(k)\" is not a string")
          }
          metadata[k] = s
        }
        continue
      }
      guard case .string(let dtype)? = entry["dtype"] else {
        throw LaminaError.format("tensor \"\(name)\" has no dtype")
      }
      guard dtype == "F32" else {
        throw LaminaError.format("tensor \"\(name)\" has dtype \(dtype); Lamina reads F32 only")
      }
      guard case .array(let dims)? = entry["shape"], dims.count <= 8 else {
        throw LaminaError.format("tensor \"\(name)\" has no valid shape")
      }
      var shape: [Int] = []
      var count = 1
      for d in dims {
        guard case .number(let v) = d, v >= 0, v == v.rounded(), v <= Double(Limits.maxParameters)
        else {
          throw LaminaError.format("tensor \"\(name)\" has an invalid dimension in its shape")
        }
        shape.append(Int(v))
        let (c, o) = count.multipliedReportingOverflow(by: Int(v))
        guard !o, c <= Limits.maxParameters else {
          throw LaminaError.format("tensor \"\(name)\" is larger than the parameter limit")
        }
        count = c
      }
      guard case .array(let offs)? = entry["data_offsets"], offs.count == 2,
        case .number(let b) = offs[0], case .number(let e) = offs[1],
        b >= 0, e >= b, b == b.rounded(), e == e.rounded(), e <= Double(dataSize)
      else {
        throw LaminaError.format("tensor \"\(name)\" has data offsets outside the file")
      }
      let begin = Int(b)
      let end = Int(e)
      guard end - begin == count * 4 else {
        throw LaminaError.format(
          "tensor \"\(name)\" spans \(end - begin) bytes but its shape needs \(count * 4)")
      }
      ranges.append((begin, end))
      var values = [Float](repeating: 0, count: count)
      let base = headerEnd + begin
      for i in 0..<count {
        let o = base + 4 * i
        let bits =
          UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16
          | UInt32(bytes[o + 3]) << 24
        values[i] = Float(bitPattern: bits)
      }
      tensors.append(Tensor(name: name, shape: shape, values: values))
    }
    // Tensors must not overlap (the format forbids it; overlap would alias weights).
    let sorted = ranges.sorted { $0.0 < $1.0 }
    for (a, b) in zip(sorted, sorted.dropFirst()) where b.0 < a.1 {
      throw LaminaError.format("safetensors data ranges overlap")
    }
    return (tensors, metadata)
  }
}
