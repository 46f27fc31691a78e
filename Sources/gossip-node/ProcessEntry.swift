import ArgumentParser
import GossipClient
import GossipNode

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's entry point: parses the command line, runs ``GossipNodeCommand`` and exits with
/// the documented status (0 ok, 1 an error, 2 a usage mistake, 3 invalid data found).
///
/// The main stays `async` (a synchronous main that waited on a semaphore while the command ran on
/// the thread pool made release builds crash in `import` with a corrupted job). For `run`, the
/// long-lived node, the main thread then runs the main queue itself rather than being parked by
/// `dispatch_main()`'s `pthread_exit`, whose forced unwind left the binary's unwind tables
/// resident (``EventLoopExecutor/keepMainThread()``).
@main
enum ProcessEntry {
    static func main() async {
        if CommandLine.arguments.dropFirst().first == "run" {
            EventLoopExecutor.keepMainThread()
            EventLoopExecutor.install()
        }
        await run(Array(CommandLine.arguments.dropFirst()))
    }

    /// Runs one command line; returns only when it succeeded (every failure exits).
    static func run(_ arguments: [String]) async {
        do {
            var command = try GossipNodeCommand.parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = GossipNodeCommand.exitCode(for: error)
            let message = GossipNodeCommand.fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { print(message) }
                exit(0)
            }
            if !message.isEmpty { writeStandardError(message + "\n") }
            exit(exitStatus(for: code))
        }
    }

    /// The documented exit status for an `ArgumentParser` exit code: its usage failure (64,
    /// `EX_USAGE`) is reported as 2, like other command-line tools; every other code as it is.
    static func exitStatus(for code: ExitCode) -> Int32 {
        code == .validationFailure ? 2 : code.rawValue
    }
}
