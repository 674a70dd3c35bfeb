// Optimizer updates and schedules. Updates run under NoGradGuard on the parameters in place.
#include "core/train/optimizer.h"

#include <cmath>

#include "core/io/tensor_io.h"
#include "core/util/error.h"

namespace peft {

Optimizer::Optimizer(std::vector<std::pair<std::string, torch::Tensor>> params, const TrainingConfig& cfg)
    : m_params(std::move(params)), m_cfg(cfg) {
    torch::NoGradGuard ng;
    for (auto& [n, p] : m_params) {
        const bool low = p.scalar_type() == torch::kBFloat16 || p.scalar_type() == torch::kHalf;
        m_master.push_back(low ? p.detach().to(torch::kFloat32, /*non_blocking=*/false, /*copy=*/true)
                               : torch::Tensor());
        const torch::Tensor& like = low ? m_master.back() : p;
        m_m.push_back(torch::zeros_like(like, torch::MemoryFormat::Preserve));
        m_v.push_back(cfg.optimizer == "sgd" ? torch::Tensor()
                                             : torch::zeros_like(like, torch::MemoryFormat::Preserve));
    }
}

void Optimizer::zeroGrad() {
    for (auto& [n, p] : m_params)
        if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
}

void Optimizer::step(double lr) {
    torch::NoGradGuard ng;
    ++m_step;
    const double b1 = m_cfg.betas[0], b2 = m_cfg.betas[1], wd = m_cfg.weightDecay, eps = m_cfg.eps;
    for (size_t i = 0; i < m_params.size(); ++i) {
        torch::Tensor& param = m_params[i].second;
        if (!param.grad().defined()) continue;
        // Low-precision parameters: the update runs on the fp32 master with an fp32 gradient.
        const bool low = m_master[i].defined();
        torch::Tensor p = low ? m_master[i] : param;
        torch::Tensor g = low ? param.grad().to(torch::kFloat32) : param.grad();
        if (m_cfg.optimizer == "sgd") {
            if (wd != 0) g = g.add(p, wd);
            // torch: the first step's buffer is the gradient itself.
            if (m_step == 1 || !m_m[i].defined()) m_m[i] = g.clone();
            else m_m[i].mul_(m_cfg.momentum).add_(g);
            p.add_(m_cfg.momentum != 0 ? m_m[i] : g, -lr);
            if (low) param.copy_(p);
            continue;
        }
        if (m_cfg.optimizer == "adamw") p.mul_(1 - lr * wd);  // decoupled decay
        else if (wd != 0) g = g.add(p, wd);                   // adam: L2 in the gradient
        m_m[i].mul_(b1).add_(g, 1 - b1);
        m_v[i].mul_(b2).addcmul_(g, g, 1 - b2);
        const double bc1 = 1 - std::pow(b1, static_cast<double>(m_step));
        const double bc2 = 1 - std::pow(b2, static_cast<double>(m_step));
        torch::Tensor denom = (m_v[i].sqrt() / std::sqrt(bc2)).add_(eps);
        p.addcdiv_(m_m[i], denom, -lr / bc1);
        if (low) param.copy_(p);
    }
}

std::vector<std::pair<std::string, torch::Tensor>> Optimizer::state() const {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (size_t i = 0; i < m_params.size(); ++i) {
        const std::string& n = m_params[i].first;
        if (m_cfg.optimizer == "sgd") {
            out.emplace_back(n + ".momentum_buffer", m_m[i]);
        } else {
            out.emplace_back(n + ".exp_avg", m_m[i]);
            out.emplace_back(n + ".exp_avg_sq", m_v[i]);
        }
        if (m_master[i].defined()) out.emplace_back(n + ".master", m_master[i]);
    }
    return out;
}

void Optimizer::loadState(const std::map<std::string, torch::Tensor>& state, int64_t stepCount,
                          const std::string& where) {
    torch::NoGradGuard ng;
    auto take = [&](const std::string& key, torch::Tensor& dst) {
        dst.copy_(savedTensorLike(state, key, dst, where,
                                  "The checkpoint is incomplete or belongs to another run; resume from another one."));
    };
    for (size_t i = 0; i < m_params.size(); ++i) {
        const std::string& n = m_params[i].first;
        if (m_cfg.optimizer == "sgd") {
            take(n + ".momentum_buffer", m_m[i]);
        } else {
            take(n + ".exp_avg", m_m[i]);
            take(n + ".exp_avg_sq", m_v[i]);
        }
        if (m_master[i].defined()) {
            // Checkpoints written before master copies existed: start from the parameter.
            if (state.count(n + ".master")) take(n + ".master", m_master[i]);
            else m_master[i].copy_(m_params[i].second.detach());
        }
    }
    m_step = stepCount;
}

double scheduledLr(const TrainingConfig& cfg, int64_t step, int64_t total) {
    const double base = cfg.lr;
    const int64_t warm = cfg.warmupSteps;
    if (step < warm) return base * static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warm));
    if (cfg.scheduler == "constant") return base;
    const double progress = static_cast<double>(step - warm) / static_cast<double>(std::max<int64_t>(1, total - warm));
    if (cfg.scheduler == "linear") return base * std::max(0.0, 1.0 - progress);
    return base * std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));  // cosine, half a period
}

double clipGradNorm(const std::vector<std::pair<std::string, torch::Tensor>>& params, double maxNorm) {
    torch::NoGradGuard ng;
    std::vector<torch::Tensor> norms;
    for (const auto& [n, p] : params)
        if (p.grad().defined()) norms.push_back(p.grad().to(torch::kFloat32).norm(2));
    if (norms.empty()) return 0.0;
    const double total = torch::stack(norms).norm(2).item<double>();
    if (maxNorm > 0 && std::isfinite(total)) {
        const double coef = maxNorm / (total + 1e-6);
        if (coef < 1.0)
            for (const auto& [n, p] : params)
                if (p.grad().defined()) p.grad().mul_(coef);
    }
    return total;
}

}  // namespace peft
