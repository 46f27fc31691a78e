import GossipNode
print("gossip-node \(GossipNodeVersion.current)")
