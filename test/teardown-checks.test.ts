// The end-to-end teardown's judgements (e2e/support/checks.ts): the volume check proves that a
// volume existed and was bound before it may say none is left, or that the path has no claim at
// all; the leftover check after `cluster down` finds kube-router's chains, rules and ipsets, and
// mounts anywhere under the cluster's folders.
import { type ClaimsRecord, clusterIpsets, clusterProcesses, clusterRules, judgeClaims, mountsUnder } from "../e2e/support/checks";

const NAMESPACE = "todo-dev";
const boundVolume = { name: "local-volume-3", phase: "Bound", claimNamespace: NAMESPACE, claimName: "data-postgres-0", claimUid: "uid-1", reclaimPolicy: "Delete" };
const inCluster: ClaimsRecord = {
    namespace: NAMESPACE,
    databaseMode: "in-cluster",
    statefulSets: [{ name: "postgres", replicas: 1, templates: ["data"] }],
    claims: [{ name: "data-postgres-0", uid: "uid-1", phase: "Bound", volumeName: "local-volume-3" }],
    volumes: [boundVolume, { name: "local-volume-4", phase: "Available", claimNamespace: "", claimName: "", claimUid: "", reclaimPolicy: "Delete" }],
    podClaims: ["postgres-0/data-postgres-0"],
};
const external: ClaimsRecord = { namespace: "todo-prod", databaseMode: "external", statefulSets: [], claims: [], volumes: inCluster.volumes, podClaims: [] };

describe("judgeClaims", () => {
    it("records the volume bound to the StatefulSet's claim, to be gone after destroy", () => {
        const finding = judgeClaims(inCluster);
        expect(finding.problems).toEqual([]);
        expect(finding.volumes).toEqual(["local-volume-3"]);
        expect(finding.said).toContain("claim todo-dev/data-postgres-0: Bound to volume local-volume-3 (reclaim policy Delete)");
    });

    it("fails an in-cluster database with no claim declared, instead of passing on nothing", () => {
        const finding = judgeClaims({ ...inCluster, statefulSets: [{ name: "postgres", replicas: 1, templates: [] }], claims: [], podClaims: [] });
        expect(finding.volumes).toEqual([]);
        expect(finding.problems).toEqual(["the database is in-cluster, yet no StatefulSet in todo-dev declares a volumeClaimTemplate (StatefulSets: postgres)"]);
    });

    it("fails a claim that is missing, Pending, or bound to a volume that is not its own", () => {
        expect(judgeClaims({ ...inCluster, claims: [] }).problems).toEqual(["claim todo-dev/data-postgres-0 does not exist (claims there: none)"]);
        const pending = judgeClaims({ ...inCluster, claims: [{ name: "data-postgres-0", uid: "uid-1", phase: "Pending", volumeName: "" }] });
        expect(pending.problems).toEqual(["claim todo-dev/data-postgres-0 is Pending, with no volume, not Bound"]);
        const stolen = judgeClaims({ ...inCluster, volumes: [{ ...boundVolume, claimUid: "uid-of-an-older-claim" }] });
        expect(stolen.problems).toEqual(["volume local-volume-3 is Bound, claimed by todo-dev/data-postgres-0 (uid uid-of-an-older-claim), not Bound to todo-dev/data-postgres-0 (uid uid-1)"]);
        expect(judgeClaims({ ...inCluster, volumes: [] }).problems).toEqual(["claim todo-dev/data-postgres-0 names volume local-volume-3, which does not exist"]);
    });

    it("says that an external database's path has no claim, and checks it has none", () => {
        const finding = judgeClaims(external);
        expect(finding.problems).toEqual([]);
        expect(finding.volumes).toEqual([]);
        expect(finding.said).toEqual(["todo:databaseMode external: this path has no claim; checking that todo-prod really has none"]);
    });

    it("fails an external database's path that has a claim after all", () => {
        const finding = judgeClaims({
            ...external,
            statefulSets: [{ name: "cache", replicas: 2, templates: ["data"] }],
            claims: [{ name: "scratch", uid: "u", phase: "Bound", volumeName: "local-volume-5" }],
            podClaims: ["worker/scratch"],
        });
        expect(finding.problems).toHaveLength(3);
        expect(finding.problems[0]).toContain("data-cache-0, data-cache-1");
        // Its volume must go with the namespace all the same.
        expect(finding.volumes).toEqual(["local-volume-5"]);
    });
});

describe("mountsUnder", () => {
    const MOUNTINFO = [
        "24 1 0:22 / / rw,relatime shared:1 - overlay overlay rw",
        "310 24 0:60 / /run/todo-k8s/containerd/state/io.containerd.runtime.v2.task/k8s.io/abc/rootfs rw - overlay overlay rw,lowerdir=/x",
        "311 24 0:61 / /root/.cache/todo-k8s/cluster/data/kubelet/pods/123/volumes/kubernetes.io~empty-dir/tmp rw - tmpfs tmpfs rw",
        "312 24 0:4 net:[4026532999] /run/netns/cni-1b2c rw - nsfs nsfs rw",
        "313 24 0:62 / /root/.cache/todo-k8s/buildkit/runc-overlayfs/executor/x/rootfs rw - overlay overlay rw",
        "314 24 0:63 / /tmp/with\\040space rw - tmpfs tmpfs rw",
        "315 24 0:64 / /run/todo-k8s-other rw - tmpfs tmpfs rw",
        "316 24 0:65 / /run/netns rw - tmpfs tmpfs rw",
    ].join("\n");
    const folders = ["/root/.cache/todo-k8s/cluster", "/run/todo-k8s", "/root/.cache/todo-k8s/buildkit", "/tmp/todo-k8s-volumes"];

    it("finds every mount under the cluster's folders and its pods' network namespaces, and nothing else", () => {
        expect(mountsUnder(MOUNTINFO, folders, ["/run/netns/cni-"])).toEqual([
            "/run/todo-k8s/containerd/state/io.containerd.runtime.v2.task/k8s.io/abc/rootfs (overlay overlay)",
            "/root/.cache/todo-k8s/cluster/data/kubelet/pods/123/volumes/kubernetes.io~empty-dir/tmp (tmpfs tmpfs)",
            "/run/netns/cni-1b2c (nsfs nsfs)",
            "/root/.cache/todo-k8s/buildkit/runc-overlayfs/executor/x/rootfs (overlay overlay)",
        ]);
    });

    it("reads mountinfo's escaped paths", () => {
        expect(mountsUnder(MOUNTINFO, ["/tmp/with space"], [])).toEqual(["/tmp/with space (tmpfs tmpfs)"]);
    });
});

describe("clusterRules", () => {
    const LISTING = [
        "-P INPUT ACCEPT",
        "-P FORWARD ACCEPT",
        "-N DOCKER-USER",
        "-N KUBE-ROUTER-FORWARD",
        "-N KUBE-POD-FW-4TLZ2OOJMJ6Q7WSU",
        "-N KUBE-NWPLCY-DEFAULT",
        "-N KUBE-FIREWALL",
        "-N TODO-K8S-FORWARD",
        '-A FORWARD -m comment --comment "kube-router netpol - TEMCG2JMHZYE7H7T" -j KUBE-ROUTER-FORWARD',
        "-A FORWARD -i todo-cni0 -j ACCEPT",
        "-A FORWARD -j DOCKER-USER",
        "-A DOCKER-USER -j RETURN",
        "-A KUBE-ROUTER-FORWARD -j KUBE-POD-FW-4TLZ2OOJMJ6Q7WSU",
    ].join("\n");

    it("finds the cluster's chains, kube-router's named as such, and the rules elsewhere that name them or its bridges", () => {
        expect(clusterRules(LISTING, ["todo-k8s0", "todo-cni0"])).toEqual([
            "chain KUBE-ROUTER-FORWARD (kube-router's)",
            "chain KUBE-POD-FW-4TLZ2OOJMJ6Q7WSU (kube-router's)",
            "chain KUBE-NWPLCY-DEFAULT (kube-router's)",
            "chain KUBE-FIREWALL",
            "chain TODO-K8S-FORWARD",
            'rule -A FORWARD -m comment --comment "kube-router netpol - TEMCG2JMHZYE7H7T" -j KUBE-ROUTER-FORWARD',
            "rule -A FORWARD -i todo-cni0 -j ACCEPT",
        ]);
    });

    it("finds nothing in a table without them", () => {
        expect(clusterRules("-P INPUT ACCEPT\n-N DOCKER\n-A FORWARD -j DOCKER\n", ["todo-k8s0", "todo-cni0"])).toEqual([]);
    });
});

describe("clusterIpsets", () => {
    it("finds kube-router's sets, IPv6 ones included", () => {
        expect(clusterIpsets("KUBE-SRC-ABCDEF\nKUBE-DST-GHIJ\ninet6:KUBE-DST-XYZ\nkube-router-local-ips\ndocker-thing\n")).toEqual([
            "KUBE-SRC-ABCDEF",
            "KUBE-DST-GHIJ",
            "inet6:KUBE-DST-XYZ",
            "kube-router-local-ips",
        ]);
    });
});

describe("clusterProcesses", () => {
    const processes = [
        { pid: 10, argv: ["/root/.cache/todo-k8s/toolchain/bin/kube-router", "--kubeconfig=/root/.cache/todo-k8s/cluster/conf/kube-router.kubeconfig"] },
        { pid: 11, argv: ["kube-controller-manager", "--v=2"] },
        { pid: 12, argv: ["/usr/bin/containerd"] },
        { pid: 13, argv: ["containerd", "--config", "/root/.cache/todo-k8s/cluster/conf/containerd.toml"] },
        { pid: 14, argv: ["/usr/bin/containerd-shim-runc-v2", "-namespace", "k8s.io", "-address", "/run/todo-k8s/containerd/containerd.sock"] },
        { pid: 15, argv: ["bash"] },
    ];

    it("finds components by program name (long names too) and others by the folders they name; Docker's containerd is not the cluster's", () => {
        const found = clusterProcesses(processes, ["kube-router", "kube-controller-manager"], ["/root/.cache/todo-k8s/cluster", "/run/todo-k8s"]);
        expect(found.map((line) => line.split(" ")[0])).toEqual(["10", "11", "13", "14"]);
    });
});
