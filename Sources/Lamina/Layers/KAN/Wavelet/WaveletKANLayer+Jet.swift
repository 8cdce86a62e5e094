#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Wavelet KAN layers in jet passes (`KANEdgeJet`): phi_ij(x) = w psi(t), t = (x - tau) / s
/// (w, tau, s the edge's entries), so phi^(p) = w psi^(p)(t) / s^p and
///
///     d phi^(p) / dw   = psi^(p)(t) / s^p
///     d phi^(p) / dtau = -w psi^(p+1)(t) / s^(p+1)
///     d phi^(p) / ds   = -w (t psi^(p+1)(t) + p psi^(p)(t)) / s^(p+1).
///
/// The mother wavelets' derivatives are closed forms: the Mexican hat is -C times the second
/// derivative of exp(-t^2 / 2), so psi^(p) = -C (-1)^p He_{p+2}(t) exp(-t^2 / 2) (He the
/// probabilists' Hermite polynomials); Morlet is the real part of h = exp(5 i t - t^2 / 2),
/// whose derivatives are P_p(z) h with z = 5 i - t, P_0 = 1, P_1 = z, P_2 = z^2 - 1,
/// P_3 = z^3 - 3 z. Every edge has its own t, so the cost is O(1) per row, input and output
/// and order (one exponential per edge and row, as `forward`), in Double.
extension WaveletKANLayer: KANEdgeJet {
  /// Everything is per edge and row: no scratch.
  func edgeJetScratchCount(rows: Int) -> Int { 0 }

  func edgeDerivatives(
    input i: Int, column: UnsafePointer<Float>, stride: Int, count: Int, orders: Int,
    into table: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let (inp, out, psi) = (inputDim, outputDim, wavelet)
    scale.value.withUnsafeBufferPointer { sb in
      translation.value.withUnsafeBufferPointer { tb in
        weight.value.withUnsafeBufferPointer { wb in
          for r in 0..<count {
            let x = Double(column[r * stride])
            for j in 0..<out {
              let e = j * inp + i
              let s = Double(sb[e])
              let d = psi.derivatives((x - Double(tb[e])) / s)
              var f = Double(wb[e])
              for p in 1...orders {
                f /= s
                table[((p - 1) * count + r) * out + j] = Float(f * d[p])
              }
            }
          }
        }
      }
    }
  }

  func addEdgeDerivativeGradients(
    input i: Int, column: UnsafePointer<Float>, stride: Int, count: Int, orders: Int,
    adjoints: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let (inp, out, psi) = (inputDim, outputDim, wavelet)
    scale.value.withUnsafeBufferPointer { sb in
      translation.value.withUnsafeBufferPointer { tb in
        weight.value.withUnsafeBufferPointer { wb in
          scale.gradient.withUnsafeMutableBufferPointer { gs in
            translation.gradient.withUnsafeMutableBufferPointer { gt in
              weight.gradient.withUnsafeMutableBufferPointer { gw in
                for r in 0..<count {
                  let x = Double(column[r * stride])
                  for j in 0..<out {
                    let e = j * inp + i
                    let (s, w) = (Double(sb[e]), Double(wb[e]))
                    let t = (x - Double(tb[e])) / s
                    let d = psi.derivatives(t)
                    var (dw, dt, ds) = (0.0, 0.0, 0.0)
                    var power = 1.0  // 1 / s^p
                    for p in 1...orders {
                      power /= s
                      let a = Double(adjoints[((p - 1) * count + r) * out + j])
                      dw += a * d[p] * power
                      dt -= a * w * d[p + 1] * power / s
                      ds -= a * w * (t * d[p + 1] + Double(p) * d[p]) * power / s
                    }
                    gw[e] += Float(dw)
                    gt[e] += Float(dt)
                    gs[e] += Float(ds)
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}

extension WaveletKANLayer.MotherWavelet {
  /// (psi(t), psi'(t), psi''(t), psi'''(t)) in Double (see WaveletKANLayer+Jet.swift).
  @inline(__always)
  func derivatives(_ t: Double) -> SIMD4<Double> {
    let envelope = exp(-t * t / 2)
    switch self {
    case .mexicanHat:
      let c = Double(Self.mexicanHatNorm) * envelope
      let t2 = t * t
      return SIMD4(
        c * (1 - t2), c * t * (t2 - 3), -c * (t2 * t2 - 6 * t2 + 3),
        c * t * (t2 * t2 - 10 * t2 + 15)
      )
    case .morlet:
      let w = Double(Self.morletFrequency)
      // h = (cos wt + i sin wt) envelope; z = -t + i w.
      let (hr, hi) = (cos(w * t) * envelope, sin(w * t) * envelope)
      let (zr, zi) = (-t, w)
      let (z2r, z2i) = (zr * zr - zi * zi, 2 * zr * zi)
      let (z3r, z3i) = (z2r * zr - z2i * zi, z2r * zi + z2i * zr)
      @inline(__always) func real(_ pr: Double, _ pi: Double) -> Double { pr * hr - pi * hi }
      return SIMD4(hr, real(zr, zi), real(z2r - 1, z2i), real(z3r - 3 * zr, z3i - 3 * zi))
    }
  }
}
