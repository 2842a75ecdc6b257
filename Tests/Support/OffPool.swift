import Foundation

/// Something handed to or from another thread while its owner waits: nothing else touches it
/// meanwhile, which the compiler cannot see.
public struct Handed<T>: @unchecked Sendable {
    public let value: T
    public init(value: T) { self.value = value }
}

/// Runs a blocking body (a soak through real ptys, a wait for a device: mostly sleeping) on a thread of
/// its own and waits for it without holding a thread of the test pool, which has only as many
/// threads as cores: every other test would otherwise wait behind it. The test is suspended
/// until the body returns, so nothing else uses what the body captured. Expectations belong
/// after the await, in the test's own task.
public func offPool<T>(_ body: @escaping () throws -> T) async throws -> T {
    let work = Handed(value: body)
    return try await withCheckedThrowingContinuation { (c: CheckedContinuation<Handed<T>, Error>) in
        Thread {
            do { c.resume(returning: Handed(value: try work.value())) } catch { c.resume(throwing: error) }
        }.start()
    }.value
}
