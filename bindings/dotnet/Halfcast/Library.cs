// Versions, the ABI check every entry point runs, and errors.
using System;

namespace Halfcast {

/// <summary>What went wrong: the C API's halfcast_status_code (absl::StatusCode's values).</summary>
public enum StatusCode {
  Ok = 0,
  Cancelled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16
}

/// <summary>A failed halfcast call: the library's code and message.</summary>
public class HalfcastException : Exception {
  /// <summary>The library's error code.</summary>
  public StatusCode Code { get; private set; }
  /// <summary>The library's message, without the code.</summary>
  public string LibraryMessage { get; private set; }

  public HalfcastException(StatusCode code, string message)
      : base(message + " (" + Library.CodeName(code) + ")") {
    Code = code;
    LibraryMessage = message;
  }
}

/// <summary>The loaded libhalfcast_c: its versions and the ABI check.</summary>
public static class Library {
  /// <summary>The C ABI version this binding was written against (HALFCAST_C_ABI_VERSION).</summary>
  public const int AbiVersion = 1;

  /// <summary>The loaded library's version, "MAJOR.MINOR.PATCH".</summary>
  public static string Version { get { return Native.Utf8(Native.halfcast_version()); } }

  /// <summary>The C ABI version of the libhalfcast_c loaded at run time.</summary>
  public static int LoadedAbiVersion { get { return Native.halfcast_abi_version(); } }

  /// <summary>The library's stable lower-case name of a code ("invalid_argument", ...).</summary>
  public static string CodeName(StatusCode code) {
    return Native.Utf8(Native.halfcast_status_code_name((int)code));
  }

  /// <summary>Returns when a library implementing C ABI <paramref name="found"/> can serve this
  /// binding, else throws the exception every entry point throws (FailedPrecondition).</summary>
  public static void CheckAbiVersion(int found) {
    if (found == AbiVersion) return;
    throw new HalfcastException(StatusCode.FailedPrecondition,
        "halfcast: the loaded libhalfcast_c " + Version + " implements C ABI version " + found +
        ", this binding needs " + AbiVersion + " (HALFCAST_C_ABI_VERSION); install matching versions");
  }

  static readonly object checkLock = new object();
  static bool checkedOnce;
  static HalfcastException abiError;

  // Checks the loaded library's ABI once; every function creating a handle calls it first.
  internal static void EnsureCompatible() {
    lock (checkLock) {
      if (!checkedOnce) {
        try {
          CheckAbiVersion(LoadedAbiVersion);
        } catch (HalfcastException e) {
          abiError = e;
        }
        checkedOnce = true;
      }
    }
    if (abiError != null) throw abiError;
  }
}

}  // namespace Halfcast
