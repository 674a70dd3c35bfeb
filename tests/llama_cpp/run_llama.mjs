// Runs the real llama.cpp (node-llama-cpp's prebuilt CPU binaries) on a GGUF for the export
// tests: tokenises texts and continues prompts greedily. Usage: node run_llama.mjs JOB.json OUT.json
// JOB: {"model": "m.gguf", "lora": "a.gguf"?, "texts": ["..."], "prompts": [[ids]], "steps": 32,
//       "contextSize": n?}
// OUT: {"tokens": [[ids]], "generated": [[ids]], "addBos": bool, "bos": id|null, "eos": id|null,
//       "vocabularyType": "...", "warnings": ["..."]}
import fs from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const [jobPath, outPath] = process.argv.slice(2);
if (!jobPath || !outPath) {
    console.error("usage: node run_llama.mjs JOB.json OUT.json");
    process.exit(2);
}
const job = JSON.parse(fs.readFileSync(jobPath, "utf8"));
const warnings = [];
const llama = await getLlama({
    gpu: false,
    build: "never",
    logLevel: LlamaLogLevel.warn,
    logger(level, message) {
        if (level === LlamaLogLevel.warn || level === LlamaLogLevel.error) warnings.push(message.trim());
    }
});
const model = await llama.loadModel({modelPath: job.model});
const out = {
    tokens: [],
    generated: [],
    addBos: model.tokens.shouldPrependBosToken,
    bos: model.tokens.bos,
    eos: model.tokens.eos,
    vocabularyType: model.vocabularyType,
    trainContextSize: model.trainContextSize,
    warnings
};
for (const text of job.texts ?? []) out.tokens.push(Array.from(model.tokenize(text, true)));

if ((job.prompts ?? []).length > 0) {
    // contextSize: a job may ask for a small one (Phi-3 longrope takes its short factors only
    // while the context stays within the original length).
    const contextSize = job.contextSize ?? Math.min(model.trainContextSize, 256);
    const context = await model.createContext({
        contextSize,
        batchSize: contextSize,
        sequences: 1,
        threads: 2,
        // Exact attention: without these, llama.cpp's CPU flash attention and its F16 K/V cache
        // round enough to flip near ties (tiny-qwen3's F32 GGUF, "Hello world", step 29: our top-2
        // margin 0.0095, flipped with flash attention on, equal to ours with it off). The tests
        // compare the GGUF's weights (F32, F16, BF16, Q8_0) with our fp32 model, not llama.cpp's
        // runtime options, so the runtime computes attention in F32.
        flashAttention: false,
        experimentalKvCacheKeyType: "F32",
        experimentalKvCacheValueType: "F32",
        ...(job.lora ? {lora: {adapters: [{filePath: job.lora, scale: 1}]}} : {})
    });
    for (const prompt of job.prompts) {
        const sequence = context.getSequence();
        const generated = [];
        // temperature 0 is greedy (argmax); repeatPenalty is on by default and must be off;
        // yieldEogToken keeps going past an end-of-generation token, as the comparison is token
        // for token over a fixed number of steps.
        for await (const token of sequence.evaluate(prompt, {temperature: 0, repeatPenalty: false, yieldEogToken: true})) {
            generated.push(token);
            if (generated.length >= (job.steps ?? 32)) break;
        }
        out.generated.push(generated);
        sequence.dispose();
    }
    await context.dispose();
}
await model.dispose();
fs.writeFileSync(outPath, JSON.stringify(out));
