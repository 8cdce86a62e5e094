import CLaminaABI

/// Library-wide facts.
public enum Lamina {
  /// The library version, "MAJOR.MINOR.PATCH": `LAMINA_VERSION_STRING` of include/lamina.h,
  /// the one place the version is written.
  public static let version: String = LAMINA_VERSION_STRING
}

extension Lamina {
  /// Threads, the calling thread included, that Lamina's parallel work runs on: the
  /// worker pool's products and loops and the long geometry loops alike. The default is
  /// `LAMINA_NUM_THREADS` when that is a positive integer, else the cores in the process's
  /// affinity mask, in both cases at most `maxThreads`. Results are the same on any count.
  public static var threads: Int { WorkerPool.activeThreads }

  /// Sets `threads`: `count` clamped to 1 ... `maxThreads`, or 0 (or less) for the
  /// default. Takes effect for calls that start after it returns, at any time.
  public static func setThreads(_ count: Int) { WorkerPool.setThreads(count) }

  /// The most threads Lamina runs on (its fixed task plans split work into at most this
  /// many blocks, so more threads would idle).
  public static var maxThreads: Int { WorkerPool.maxThreads }
}
