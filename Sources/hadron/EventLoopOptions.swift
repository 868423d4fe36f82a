import ArgumentParser
import NIOCore
import NIOPosix

/// `--event-loops`: how many network threads a data-plane process runs (`hadron storage`, `hadron gateway`).
///
/// Processes that share a machine's cores each waking their own threads for the same traffic pay a context switch
/// per wake-up; giving each a share of the cores avoids that (three storage nodes on two cores, rf3: 7 % less
/// storage CPU with one loop each).
struct EventLoopOptions: ParsableArguments {
    @Option(
        name: .customLong("event-loops"),
        help: ArgumentHelp(
            "Network threads; 0 (the default) means one per CPU core the process may use, its cgroup quota "
                + "included. Give processes that share a machine a share of its cores (HADRON_EVENT_LOOPS)."))
    var eventLoops: Int = Int(HadronEnvironment.value(forFlag: "event-loops", default: "0")) ?? -1

    func validate() throws {
        guard eventLoops >= 0 else { throw ValidationError("--event-loops must be a whole number, 0 or more") }
    }

    /// Sizes NIO's singleton group and runs Swift tasks on its loops; returns whether that move succeeded.
    ///
    /// Must run before anything touches the singleton group. Swift tasks then run on the event loops rather than
    /// Swift's default pool: a data-plane process's work is many short hops between the network and its tasks,
    /// and on the default pool every hop woke a parked pool thread (storage at 500 replicated publishes/s: 26 %
    /// less CPU and p99 3.7 -> 2.9 ms on the loops).
    func install() -> Bool {
        if eventLoops > 0 { NIOSingletons.groupLoopCountSuggestion = eventLoops }
        return NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
