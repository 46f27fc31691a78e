import ArgumentParser
import Dispatch
import GossipClient

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's entry point: parses the command line, runs ``GossipNodeCommand`` on the
/// cooperative thread pool while the main thread waits for it, and exits with the documented
/// status (0 ok, 1 an error, 2 a usage mistake, 3 invalid data found).
///
/// An `async` `@main` would hand the main thread to `dispatch_main()`, which parks it by calling
/// `pthread_exit`: a forced unwind of the main thread's stack that reads the binary's unwind
/// tables (about 0.5 MiB of `.eh_frame_hdr`/`.eh_frame` pages a node then kept resident for its
/// whole life). Nothing in gossip-node runs on the main actor, so the main thread has no other work.
@main
enum ProcessEntry {
    static func main() {
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            await run(Array(CommandLine.arguments.dropFirst()))
            done.signal()
        }
        done.wait()
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
