/// Coarse-to-fine training: resampling the planes to a higher (or any) resolution.
extension TriplaneEncoding {
  /// A new encoding, identical but for its resolution, whose planes are this one's
  /// resampled bilinearly: each new texel takes the old field's value at its centre, under
  /// this encoding's `align_corners` convention (computed in Double, rounded once).
  ///
  /// With `align_corners` true and R' = (R - 1) k + 1 (R -> 2R - 1, say) every old texel
  /// centre is a new one and the new texels between them are exact bilinear blends, so the
  /// field is unchanged at every point of the box (up to Float rounding of the blends), and
  /// outside it with border padding; with zeros padding the fade to zero past the faces
  /// spans one texel, so it narrows with the texels. Any other
  /// target (R -> 2R, or `align_corners` false, where new centres near the faces fall
  /// outside the old ones and take the edge value) changes the field slightly. Only for a
  /// single-level encoding; see `upsampled(to:)` with a list for several levels.
  public func upsampled(to resolution: Int) throws -> TriplaneEncoding {
    guard levels.count == 1 else {
      throw LaminaError.invalid(
        "tri-plane upsampling: the encoding has \(levels.count) levels; give one resolution per level"
      )
    }
    return try upsampled(to: [resolution])
  }

  /// As `upsampled(to:)`, one target resolution per level. Throws `.invalidArgument` for a
  /// resolution outside 2 ... `TriplaneOptions.maxResolution`, or `.outOfMemory` when the
  /// planes would exceed `Limits.maxParameters`.
  public func upsampled(to resolutions: [Int]) throws -> TriplaneEncoding {
    guard resolutions.count == levels.count else {
      throw LaminaError.invalid(
        "tri-plane upsampling: \(resolutions.count) resolutions for \(levels.count) levels")
    }
    var o = options
    o.resolutions = resolutions
    let out: TriplaneEncoding
    do {
      out = try TriplaneEncoding(options: o, passesFieldIndex: passesFieldIndex)
    } catch let error as LaminaError {
      throw LaminaError(error.code, "tri-plane upsampling: " + error.message)
    }
    for l in levels.indices {
      let (r, target) = (geometry[l].resolution, resolutions[l])
      let planes = options.fields * 3 * options.channels
      let map = Self.resampleMap(from: r, to: target, alignCorners: options.alignCorners)
      levels[l].value.withUnsafeBufferPointer { src in
        out.levels[l].value.withUnsafeMutableBufferPointer { dst in
          for p in 0..<planes {
            let s = src.baseAddress! + p * r * r
            let d = dst.baseAddress! + p * target * target
            for h in 0..<target {
              let (h0, fh) = map[h]
              let h1 = min(h0 + 1, r - 1)
              for w in 0..<target {
                let (w0, fw) = map[w]
                let w1 = min(w0 + 1, r - 1)
                let top = Double(s[h0 * r + w0]) * (1 - fw) + Double(s[h0 * r + w1]) * fw
                let bottom = Double(s[h1 * r + w0]) * (1 - fw) + Double(s[h1 * r + w1]) * fw
                d[h * target + w] = Float(top * (1 - fh) + bottom * fh)
              }
            }
          }
        }
      }
    }
    return out
  }

  /// For each new texel along one axis, the old texel below its centre and the fraction
  /// toward the next, positions clamped to the old grid.
  static func resampleMap(from r: Int, to target: Int, alignCorners: Bool) -> [(Int, Double)] {
    (0..<target).map { j in
      var pos: Double
      if alignCorners {
        pos = Double(j) * Double(r - 1) / Double(target - 1)
      } else {
        pos = (Double(j) + 0.5) * Double(r) / Double(target) - 0.5
      }
      pos = min(max(pos, 0), Double(r - 1))
      let i = min(Int(pos.rounded(.down)), r - 1)
      return (i, pos - Double(i))
    }
  }
}
