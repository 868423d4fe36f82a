import Foundation
import KubeAPI
import KubeAPITestDouble
import Testing

/// Records what a `WatchStream` delivers: the last snapshot and every change after it.
actor WatchRecorder {
    var lists: [[String: String]] = []
    var changes: [(String, String, String)] = []
    var state: [String: String] = [:]

    func record(_ event: ResourceEvent<ConfigMap>) {
        switch event {
        case .listed(let items, _):
            state = Dictionary(uniqueKeysWithValues: items.map { ($0.name, $0.data?["v"] ?? "") })
            lists.append(state)
        case .added(let map):
            changes.append(("ADDED", map.name, map.data?["v"] ?? ""))
            state[map.name] = map.data?["v"] ?? ""
        case .modified(let map):
            changes.append(("MODIFIED", map.name, map.data?["v"] ?? ""))
            state[map.name] = map.data?["v"] ?? ""
        case .deleted(let map):
            changes.append(("DELETED", map.name, map.data?["v"] ?? ""))
            state[map.name] = nil
        }
    }

    var changeCount: Int { changes.count }
    var listCount: Int { lists.count }
}

@Suite struct WatchTests {
    static let fastPolicy = ReconnectPolicy(initialBackoff: .milliseconds(50), maximumBackoff: .milliseconds(200))

    @Test func rawWatchReassemblesSplitEventsAndSeveralPerChunk() async throws {
        try await withDouble { double in
            let kube = client(double)
            let start = String(await double.currentResourceVersion())
            for index in 0..<5 { _ = try await kube.create(configMap("m\(index)", data: ["v": "\(index)"])) }
            // Five events replayed at once: one chunk cut inside the first event, the rest (several) in the next.
            let events = try await kube.watch(ConfigMap.self, resourceVersion: start, allowBookmarks: false)
            var names: [String] = []
            for try await event in events {
                guard case .added(let map) = event else { continue }
                names.append(map.name)
                if names.count == 5 { break }
            }
            #expect(names == ["m0", "m1", "m2", "m3", "m4"])
        }
    }

    @Test func watchSendsBookmarksAndHTTPErrorsBeforeTheStream() async throws {
        try await withDouble(settings: DoubleSettings(bookmarkInterval: .milliseconds(50))) { double in
            let kube = client(double)
            _ = try await kube.create(configMap("a", data: [:]))
            let version = String(await double.currentResourceVersion())
            let events = try await kube.watch(ConfigMap.self, resourceVersion: version)
            var bookmark: String?
            for try await event in events {
                if case .bookmark(let resourceVersion) = event {
                    bookmark = resourceVersion
                    break
                }
            }
            #expect(bookmark == version)

            await double.compact()
            await double.update { $0.expiredWatchForm = .httpStatus }
            do {
                _ = try await kube.watch(ConfigMap.self, resourceVersion: "1")
                Issue.record("an expired watch must fail")
            } catch let error as KubeAPIError {
                #expect(error.isExpired && error.reason == "Expired")
            }
        }
    }

    @Test func resumesAfterServerTimeoutWithoutLossOrDuplicates() async throws {
        try await withDouble(settings: DoubleSettings(maximumWatchDuration: .milliseconds(400))) { double in
            let kube = client(double)
            _ = try await kube.create(configMap("seed", data: ["v": "0"]))
            let recorder = WatchRecorder()
            let watcher = Task {
                for try await event in kube.watchStream(ConfigMap.self, policy: Self.fastPolicy) {
                    await recorder.record(event)
                }
            }
            #expect(await eventually { await recorder.listCount == 1 })
            // Writes keep coming while the server ends the watch every 400 ms.
            for index in 1...30 {
                _ = try await kube.create(configMap("m\(index)", data: ["v": "\(index)"]))
                if index % 10 == 0 { await double.endWatches() }
                try await Task.sleep(for: .milliseconds(30))
            }
            #expect(await eventually { await recorder.changeCount >= 30 })
            try await Task.sleep(for: .milliseconds(500))
            watcher.cancel()
            let changes = await recorder.changes
            #expect(changes.count == 30, "every event exactly once")
            #expect(changes.map(\.1) == (1...30).map { "m\($0)" })
            #expect(await recorder.listCount == 1, "a timeout resumes; it does not re-list")
            #expect(double.requests.filter { $0.query["watch"] == "true" }.count >= 3)
            let resumed = double.requests.filter { $0.query["watch"] == "true" }.dropFirst()
            #expect(
                resumed.allSatisfy { $0.query["resourceVersion"] != nil && $0.query["allowWatchBookmarks"] == "true" })
        }
    }

    @Test(arguments: [DoubleSettings.ExpiredWatchForm.errorEvent, .httpStatus])
    func relistsAfterExpiryInBothForms(form: DoubleSettings.ExpiredWatchForm) async throws {
        try await withDouble(settings: DoubleSettings(bookmarkInterval: .seconds(30), expiredWatchForm: form)) {
            double in
            let kube = client(double)
            _ = try await kube.create(configMap("keep", data: ["v": "0"]))
            _ = try await kube.create(configMap("gone", data: ["v": "0"]))
            let recorder = WatchRecorder()
            let watcher = Task {
                for try await event in kube.watchStream(ConfigMap.self, policy: Self.fastPolicy) {
                    await recorder.record(event)
                }
            }
            #expect(await eventually { await recorder.listCount == 1 })
            #expect(await eventually { await double.openWatchCount() == 1 })
            // Cut the watch, change things while nobody watches, and expire the old resourceVersion.
            await double.update { $0.refuseWatches = true }
            await double.endWatches()
            _ = try await kube.mergePatch(ConfigMap.self, name: "keep", patch: ["data": ["v": "1"]])
            try await kube.delete(ConfigMap.self, name: "gone")
            _ = try await kube.create(configMap("new", data: ["v": "1"]))
            await double.compact()
            await double.update { $0.refuseWatches = false }

            #expect(await eventually { await recorder.listCount >= 2 })
            let state = await recorder.state
            #expect(state == ["keep": "1", "new": "1"])
            watcher.cancel()
        }
    }

    @Test func cancellingAWatchStopsTheTransferPromptly() async throws {
        try await withDouble { double in
            let kube = client(double)
            let watcher = Task {
                for try await _ in kube.watchStream(ConfigMap.self, policy: Self.fastPolicy) {}
            }
            #expect(await eventually { await double.openWatchCount() == 1 })
            watcher.cancel()
            #expect(await eventually(within: .seconds(30)) { await double.openWatchCount() == 0 })
        }
    }

    @Test func manyConcurrentWatchesShareTheEngine() async throws {
        try await withDouble { double in
            let kube = client(double)
            let watchers = (0..<12).map { _ in
                Task { for try await _ in kube.watchStream(ConfigMap.self, policy: Self.fastPolicy) {} }
            }
            #expect(await eventually { await double.openWatchCount() == 12 })
            // Requests still flow while twelve streams stay open.
            _ = try await kube.create(configMap("while-watching", data: [:]))
            #expect(try await kube.get(ConfigMap.self, name: "while-watching").name == "while-watching")
            for watcher in watchers { watcher.cancel() }
            #expect(await eventually(within: .seconds(30)) { await double.openWatchCount() == 0 })
        }
    }

    @Test func waitingForASyncEndsWhenTheInformerStops() async throws {
        try await withDouble { double in
            // The server never answers this client: the first list cannot complete.
            double.addToken("unreachable")
            double.blackhole(token: "unreachable")
            let kube = KubeClient(configuration: double.tokenConfiguration(token: "unreachable"), logger: testLogger())
            let informer = Informer<ConfigMap>(client: kube, policy: Self.fastPolicy)
            let runner = Task { try await informer.run() }
            let done = Collector<String>()
            let waiter = Task {
                await informer.waitUntilSynced()
                await done.append("returned")
            }
            runner.cancel()
            _ = await runner.result
            #expect(await eventually(within: .seconds(5)) { await done.count == 1 })
            #expect(await !informer.hasSynced)
            // After the end, a new wait returns at once. (Neither task is awaited: with the bug this
            // test pins, they would never return.)
            let late = Task {
                await informer.waitUntilSynced()
                await done.append("late")
            }
            #expect(await eventually(within: .seconds(5)) { await done.count == 2 })
            _ = (waiter, late)
        }
    }

    @Test func informerCachesAndNotifiesEveryChangeOnceAcrossRelists() async throws {
        try await withDouble(settings: DoubleSettings(maximumWatchDuration: .milliseconds(300))) { double in
            let kube = client(double)
            _ = try await kube.create(configMap("a", labels: ["app": "hadron"], data: ["v": "1"]))
            _ = try await kube.create(configMap("ignored", labels: ["app": "other"], data: [:]))
            let informer = Informer<ConfigMap>(client: kube, labelSelector: ["app": "hadron"], policy: Self.fastPolicy)
            let changes = await informer.changes()
            let runner = Task { try await informer.run() }
            await informer.waitUntilSynced()
            #expect(await informer.list().map(\.name) == ["a"])

            let seen = Collector<String>()
            let reader = Task {
                for await change in changes {
                    switch change {
                    case .added(let map): await seen.append("added \(map.name)")
                    case .updated(_, let map): await seen.append("updated \(map.name) \(map.data?["v"] ?? "")")
                    case .deleted(let map): await seen.append("deleted \(map.name)")
                    }
                }
            }
            _ = try await kube.create(configMap("b", labels: ["app": "hadron"], data: ["v": "1"]))
            #expect(await eventually { await informer.get(name: "b", namespace: "default") != nil })
            // Expire history while the informer is between watches: it must re-list and diff.
            await double.update { $0.refuseWatches = true }
            await double.endWatches()
            _ = try await kube.mergePatch(ConfigMap.self, name: "a", patch: ["data": ["v": "2"]])
            try await kube.delete(ConfigMap.self, name: "b")
            // Relabelling makes an object leave the selection.
            _ = try await kube.create(configMap("c", labels: ["app": "hadron"], data: [:]))
            await double.compact()
            await double.update { $0.refuseWatches = false }
            #expect(await eventually { await seen.count >= 5 })
            _ = try await kube.mergePatch(ConfigMap.self, name: "c", patch: ["metadata": ["labels": ["app": "other"]]])
            #expect(await eventually { await seen.count >= 6 })
            try await Task.sleep(for: .milliseconds(300))
            let log = await seen.items
            // The first list notifies its objects as adds; the re-list notifies only the differences.
            #expect(Array(log.prefix(2)) == ["added a", "added b"])
            #expect(Set(log.dropFirst(2).prefix(3)) == ["updated a 2", "deleted b", "added c"])
            #expect(log.last == "deleted c")
            #expect(log.count == 6)
            #expect(await informer.list().map(\.name) == ["a"])
            runner.cancel()
            reader.cancel()
        }
    }
}
