// Modelfile text. The TEMPLATEs are Go templates over Ollama's .System and .Messages, written to
// render what the Jinja originals render (tests/core/test_gguf_writer.cpp runs them through Go).
#include "core/export/ollama_modelfile.h"

#include "core/data/chat_template.h"

namespace peft::gguf {

namespace {

std::string quoteTriple(const std::string& s) { return "\"\"\"" + s + "\"\"\""; }

}  // namespace

std::string goChatTemplate(data::TemplateKind k, bool addsBos) {
    switch (k) {
        case data::TemplateKind::ChatMl:
            return "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}"
                   "<|im_start|>assistant\n";
        case data::TemplateKind::Llama3:
            return std::string(addsBos ? "" : "<|begin_of_text|>") +
                "{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n"
                "{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n";
        case data::TemplateKind::Zephyr:
            return "{{- range .Messages }}<|{{ .Role }}|>\n{{ .Content }}</s>\n{{ end }}<|assistant|>\n";
        case data::TemplateKind::Llama2:
            // Each user turn opens with <s> (but the first one when llama.cpp adds it). The system
            // text goes into the first user turn, as the Jinja original does; Ollama keeps system
            // messages in .Messages too, so the loop skips them.
            return std::string("{{- $first := true }}{{- range .Messages }}{{- if eq .Role \"user\" }}") +
                (addsBos ? "{{- if not $first }}<s>{{ end }}" : "<s>") +
                "[INST] {{ if and $first $.System }}<<SYS>>\n{{ $.System }}\n<</SYS>>\n\n{{ end }}{{ .Content }} "
                "[/INST]"
                "{{- $first = false }}{{- else if eq .Role \"assistant\" }} {{ .Content }} </s>{{- end }}{{- end }}";
        default: return {};
    }
}

std::string modelfileText(const ModelfileSpec& spec) {
    std::string s =
        "# Ollama Modelfile written by PEFT Studio. Create the model with:\n#   ollama create NAME -f Modelfile\n";
    s += "FROM " + spec.from + "\n";
    if (!spec.adapter.empty()) s += "ADAPTER " + spec.adapter + "\n";
    if (!spec.chatTemplate.empty()) {
        auto kind = data::recogniseChatTemplate(spec.chatTemplate);
        std::string t = kind ? goChatTemplate(*kind, spec.addsBos) : std::string();
        if (!t.empty()) s += "TEMPLATE " + quoteTriple(t) + "\n";
        else
            s += "# The chat template is not one of ChatML, Llama 3, Llama 2 or Zephyr; Ollama uses the one in the "
                 "GGUF.\n";
    }
    for (const auto& stop : spec.stops) s += "PARAMETER stop \"" + stop + "\"\n";
    return s;
}

}  // namespace peft::gguf
