/// A user mistake or an environment problem, with what to do about it. The command line prints
/// `error: <message>` and exits non-zero, never a backtrace.
public struct UserError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ message: String) { description = message }
}
