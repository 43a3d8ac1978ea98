// The generated secrets: uniform alphanumerics of the asked length, kept until the length changes.
import { GeneratedSecret, randomAlphanumeric } from "../components/generated-secret";

test("values have the asked length and only [A-Za-z0-9]", () => {
    for (const length of [16, 32, 48, 256]) {
        expect(randomAlphanumeric(length)).toMatch(new RegExp(`^[A-Za-z0-9]{${length}}$`));
    }
});

test("values differ between calls", () => {
    const values = new Set(Array.from({ length: 50 }, () => randomAlphanumeric(32)));
    expect(values.size).toBe(50);
});

test("every character is about equally likely (no modulo bias)", () => {
    const counts = new Map<string, number>();
    for (const character of randomAlphanumeric(62 * 2000)) {
        counts.set(character, (counts.get(character) ?? 0) + 1);
    }
    expect(counts.size).toBe(62);
    // 2000 expected per character; 5 standard deviations (~ 5 * 44) either side.
    for (const count of counts.values()) {
        expect(count).toBeGreaterThan(1780);
        expect(count).toBeLessThan(2220);
    }
});

test.each([8, 15, 257, 20.5])("length %d is refused with the accepted range", (length) => {
    expect(() => new GeneratedSecret("bad", { length })).toThrow(`GeneratedSecret bad: length ${length}; accepted: an integer from 16 to 256`);
});
